import assert from "node:assert/strict";
import type { ManualClock } from "../../../../dev/vault/mod.ts";
import { parseConfig } from "../../config.ts";
import { UnavailableError } from "../../errors.ts";
import { VaultError } from "./errors.ts";
import { VaultSecrets, vaultSecretsFromConfig } from "./provider.ts";
import {
  APP,
  clientOptions,
  count,
  FAST_RETRY,
  KEY,
  LOGIN,
  logLines,
  withVault,
} from "./test_utils.ts";

Deno.test("VaultSecrets - logs in from files, reads app secrets and key ring, caches them", async () => {
  await withVault(async (server, p) => {
    const secrets = new VaultSecrets({ ...clientOptions(server, p) });
    try {
      assert.deepEqual(await secrets.appSecrets(), {
        bitrixClientId: APP.bitrix_client_id,
        bitrixClientSecret: APP.bitrix_client_secret,
        databaseUrl: APP.database_url,
      });
      assert.deepEqual(await secrets.keyRing(), { keys: { "1": KEY }, active: "1" });
      await secrets.appSecrets();
      await secrets.keyRing();
      assert.equal(count(server, LOGIN, 200), 1);
      assert.equal(count(server, "secret/data/bitrix-app/app"), 1);
      assert.deepEqual(await secrets.health(), { ok: true });
    } finally {
      await secrets.close();
    }
  });
});

Deno.test("VaultSecrets - missing app secret is empty; missing or bad key ring fails closed", async () => {
  await withVault(async (server, p) => {
    await server.admin("DELETE", "secret/metadata/bitrix-app/app");
    await server.admin("POST", "secret/data/bitrix-app/crypto", {
      data: { keys: { "1": KEY }, active: "2" },
    });
    const secrets = new VaultSecrets(clientOptions(server, p));
    try {
      assert.deepEqual(await secrets.appSecrets(), {});
      await assert.rejects(secrets.keyRing(), /invalid active in secret\/data\/bitrix-app\/crypto/);
      await server.admin("DELETE", "secret/data/bitrix-app/crypto"); // soft delete: 404 with body
      const other = new VaultSecrets(clientOptions(server, p));
      try {
        await assert.rejects(other.keyRing(), /no key ring at secret\/data\/bitrix-app\/crypto/);
      } finally {
        await other.close();
      }
    } finally {
      await secrets.close();
    }
  });
});

Deno.test("VaultSecrets - invalid key ring error names the field, never the value", async () => {
  await withVault(async (server, p) => {
    await server.admin("POST", "secret/data/bitrix-app/crypto", {
      data: { keys: { "1": "not-a-key-but-secret-looking" }, active: "1" },
    });
    const secrets = new VaultSecrets(clientOptions(server, p));
    try {
      await assert.rejects(secrets.keyRing(), (err: Error) => {
        assert.ok(err instanceof UnavailableError);
        assert.match(err.message, /invalid keys in secret\/data\/bitrix-app\/crypto/);
        assert.ok(!err.message.includes("not-a-key"));
        return true;
      });
    } finally {
      await secrets.close();
    }
  });
});

Deno.test("VaultClient - 403 from the policy: one re-login, then a permission error (no loop)", async () => {
  await withVault(
    async (server, p) => {
      const secrets = new VaultSecrets(clientOptions(server, p));
      try {
        await assert.rejects(secrets.appSecrets(), (err: Error) => {
          assert.ok(err instanceof UnavailableError);
          assert.match(err.message, /permission denied/);
          const cause = err.cause as VaultError;
          assert.ok(cause instanceof VaultError);
          assert.equal(cause.kind, "permission_denied");
          assert.equal(cause.status, 403);
          assert.equal(cause.path, "secret/data/bitrix-app/app");
          assert.deepEqual(cause.errors, ["permission denied"]);
          return true;
        });
        assert.equal(count(server, LOGIN), 2);
        assert.equal(count(server, "secret/data/bitrix-app/app"), 2);
      } finally {
        await secrets.close();
      }
    },
    {},
    `path "secret/data/other/*" { capabilities = ["read"] }`,
  );
});

Deno.test("VaultSecrets - serves the last good value while Vault is down", async () => {
  await withVault(async (server, p) => {
    const secrets = new VaultSecrets({ ...clientOptions(server, p), refreshMs: 0 });
    try {
      const first = await secrets.appSecrets();
      server.seal();
      assert.deepEqual(await secrets.appSecrets(), first); // refresh fails in the background
      const fresh = new VaultSecrets({ ...clientOptions(server, p), retry: { attempts: 1 } });
      try {
        await assert.rejects(fresh.keyRing(), /vault sealed/); // never loaded: fail closed
      } finally {
        await fresh.close();
      }
    } finally {
      await secrets.close();
    }
  });
});

Deno.test("VaultClient - logs never carry tokens, role ids, secret ids or secret values", async () => {
  logLines.length = 0;
  await withVault(async (server, p) => {
    const clock = server.clock as ManualClock;
    const secrets = new VaultSecrets({ ...clientOptions(server, p), clock, random: () => 0 });
    try {
      await secrets.appSecrets();
      await secrets.keyRing();
      await server.advance(40_000);
      await server.advance(40_000);
      server.revokeAllTokens();
      server.inject({ type: "status", status: 500 });
      await secrets.client.readKv("secret", "bitrix-app/app");
      await secrets.health();
    } finally {
      await secrets.close();
    }
    const text = logLines.join("\n");
    assert.match(text, /vault\.login/);
    assert.match(text, /vault\.retry/);
    for (const secret of [p.roleId, p.secretId, "hvs.", "[redacted]", ...Object.values(APP), KEY]) {
      assert.ok(!text.includes(secret), `log output contains ${secret}`);
    }
  }, { token_ttl: "60s", token_max_ttl: "100s" });
});

Deno.test("vaultSecretsFromConfig - maps VAULT_* settings", async () => {
  await withVault(async (server, p) => {
    const config = parseConfig({
      SECRETS: "vault",
      VAULT_ADDR: server.addr,
      VAULT_ROLE_ID: p.roleId,
      VAULT_SECRET_ID_FILE: p.secretIdFile,
    });
    const secrets = vaultSecretsFromConfig(config, { retry: FAST_RETRY });
    try {
      assert.equal(secrets.kind, "vault");
      assert.equal((await secrets.appSecrets()).bitrixClientId, APP.bitrix_client_id);
    } finally {
      await secrets.close();
    }
  });
});
