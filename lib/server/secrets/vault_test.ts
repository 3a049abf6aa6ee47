import assert from "node:assert/strict";
import { ManualClock, startVaultTestServer, type VaultTestServer } from "../../../dev/vault/mod.ts";
import { UnavailableError } from "../errors.ts";
import { log } from "../log.ts";
import {
  VaultClient,
  type VaultClientOptions,
  VaultError,
  VaultSecrets,
  vaultSecretsFromConfig,
} from "./vault.ts";
import { parseConfig } from "../config.ts";
import { sleep } from "../../../tests/support/wait.ts";

/** Every log line of this file, so tests can assert what was (not) logged. */
const logLines: string[] = [];
log.setSink((line) => logLines.push(line));

const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
const APP = {
  bitrix_client_id: "app.0123456789",
  bitrix_client_secret: "bx-client-secret-value",
  database_url: "postgres://app:db-password@db/app",
};
const APP_POLICY = `
path "secret/data/bitrix-app/*" { capabilities = ["read"] }
`;
const FAST_RETRY = { attempts: 4, baseMs: 5, maxMs: 20 };

interface Provisioned {
  roleId: string;
  secretId: string;
  roleIdFile: string;
  secretIdFile: string;
  dir: string;
}

/** Sets up AppRole, the app policy and role, credential files and the app's KV secrets. */
async function provision(
  server: VaultTestServer,
  role: Record<string, unknown> = {},
  policy = APP_POLICY,
): Promise<Provisioned> {
  await server.admin("POST", "sys/auth/approle", { type: "approle" });
  await server.admin("PUT", "sys/policies/acl/bitrix-app", { policy });
  await server.admin("POST", "auth/approle/role/bitrix-app", {
    token_policies: ["bitrix-app"],
    token_ttl: "1h",
    token_max_ttl: "24h",
    ...role,
  });
  const roleId = await roleIdOf(server);
  const secretId = await newSecretId(server);
  const dir = await Deno.makeTempDir({ prefix: "vault_test_" });
  const roleIdFile = `${dir}/role_id`;
  const secretIdFile = `${dir}/secret_id`;
  await Deno.writeTextFile(roleIdFile, `${roleId}\n`);
  await Deno.writeTextFile(secretIdFile, `${secretId}\n`);
  await server.admin("POST", "secret/data/bitrix-app/app", { data: APP });
  await server.admin("POST", "secret/data/bitrix-app/crypto", {
    data: { keys: { "1": KEY }, active: "1" },
  });
  server.requests.length = 0; // count only what the code under test sends
  return { roleId, secretId, roleIdFile, secretIdFile, dir };
}

async function roleIdOf(server: VaultTestServer): Promise<string> {
  const body = await server.admin("GET", "auth/approle/role/bitrix-app/role-id") as {
    data: { role_id: string };
  };
  return body.data.role_id;
}

async function newSecretId(server: VaultTestServer): Promise<string> {
  const body = await server.admin("POST", "auth/approle/role/bitrix-app/secret-id") as {
    data: { secret_id: string };
  };
  return body.data.secret_id;
}

function clientOptions(server: VaultTestServer, p: Provisioned): VaultClientOptions {
  return {
    addr: server.addr,
    roleIdFile: p.roleIdFile,
    secretIdFile: p.secretIdFile,
    timeoutMs: 1000,
    retry: FAST_RETRY,
  };
}

function count(server: VaultTestServer, path: string, status?: number): number {
  return server.requests.filter((r) =>
    r.path === path && (status === undefined || r.status === status)
  ).length;
}

const LOGIN = "auth/approle/login";

/** Runs `fn` with a fresh server and provisioning, cleaning up whatever happens. */
async function withVault(
  fn: (server: VaultTestServer, p: Provisioned) => Promise<void>,
  role: Record<string, unknown> = {},
  policy = APP_POLICY,
): Promise<void> {
  const server = startVaultTestServer();
  let p: Provisioned | undefined;
  try {
    p = await provision(server, role, policy);
    await fn(server, p);
  } finally {
    await server.close();
    if (p) await Deno.remove(p.dir, { recursive: true });
  }
}

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

Deno.test("VaultClient - concurrent first calls share one login", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient(clientOptions(server, p));
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => client.readKv("secret", "bitrix-app/app")),
      );
      assert.ok(results.every((r) => r?.version === 1 && r.data.bitrix_client_id));
      assert.equal(count(server, LOGIN), 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - revoked token: one re-login with the rotated secret_id file", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient(clientOptions(server, p));
    try {
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      // The init container rotates the secret_id and destroys the old one.
      await Deno.writeTextFile(p.secretIdFile, await newSecretId(server));
      await server.admin("POST", "auth/approle/role/bitrix-app/secret-id/destroy", {
        secret_id: p.secretId,
      });
      server.revokeAllTokens();
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      assert.equal(count(server, LOGIN, 200), 2);
      assert.equal(count(server, "secret/data/bitrix-app/app", 403), 1);
    } finally {
      await client.close();
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

Deno.test("VaultClient - expired token answers 403 invalid token; the client logs in again", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient({ ...clientOptions(server, p), renew: false });
    try {
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      await server.advance(2 * 3600_000); // the server's clock only: the token has expired there
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      assert.equal(count(server, LOGIN, 200), 2);
      const forbidden = server.requests.filter((r) => r.status === 403);
      assert.equal(forbidden.length, 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - renews at 2/3 of the lease, logs in again when max TTL caps the lease", async () => {
  await withVault(async (server, p) => {
    const clock = server.clock as ManualClock;
    const client = new VaultClient({ ...clientOptions(server, p), clock, random: () => 0 });
    try {
      await client.login();
      const renew = "auth/token/renew-self";
      await server.advance(40_000); // 2/3 of 60 s
      assert.equal(count(server, renew, 200), 1);
      assert.equal(count(server, LOGIN), 1);
      await server.advance(40_000); // t=80 s: lease 60 s still fits under max 150 s
      assert.equal(count(server, renew, 200), 2);
      assert.equal(count(server, LOGIN), 1);
      await server.advance(40_000); // t=120 s: only 30 s left before max TTL → re-login
      assert.equal(count(server, renew, 200), 3);
      assert.equal(count(server, LOGIN), 2);
      await server.advance(40_000); // t=160 s: the new token is renewed, the old one expired
      assert.equal(count(server, renew, 200), 4);
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      assert.equal(server.requests.filter((r) => r.status === 403).length, 0);
    } finally {
      await client.close();
    }
    assert.equal(clock.pending, 0);
  }, { token_ttl: "60s", token_max_ttl: "150s" });
});

Deno.test("VaultClient - renewal refused (revoked token) falls back to login", async () => {
  await withVault(async (server, p) => {
    const clock = server.clock as ManualClock;
    const client = new VaultClient({ ...clientOptions(server, p), clock, random: () => 0 });
    try {
      await client.login();
      server.revokeAllTokens();
      await server.advance(40_000);
      assert.equal(count(server, "auth/token/renew-self", 403), 1);
      assert.equal(count(server, LOGIN, 200), 2);
      assert.equal(server.activeTokens(), 1);
    } finally {
      await client.close();
    }
  }, { token_ttl: "60s" });
});

Deno.test("VaultClient - sealed: retries with backoff, recovers when unsealed", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient({
      ...clientOptions(server, p),
      retry: { ...FAST_RETRY, attempts: 50 },
    });
    try {
      await client.login();
      server.seal();
      const read = client.readKv("secret", "bitrix-app/app");
      while (count(server, "secret/data/bitrix-app/app", 503) < 2) {
        await sleep(5);
      }
      server.unseal();
      assert.equal((await read)?.data.bitrix_client_id, APP.bitrix_client_id);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - sealed for good: a distinct 'sealed' error after bounded retries", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient(clientOptions(server, p));
    try {
      server.seal();
      await assert.rejects(client.readKv("secret", "bitrix-app/app"), (err: Error) => {
        assert.ok(err instanceof VaultError);
        assert.equal(err.kind, "sealed");
        assert.equal(err.status, 503);
        assert.equal(err.message, "vault sealed (503) at auth/approle/login");
        return true;
      });
      assert.equal(count(server, LOGIN, 503), FAST_RETRY.attempts);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - retries 412, 429, 500, 502 and resets; never 400 or 404", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient({
      ...clientOptions(server, p),
      retry: { ...FAST_RETRY, attempts: 6 },
    });
    try {
      await client.login();
      const path = "secret/data/bitrix-app/app";
      for (const status of [412, 429, 500, 502] as const) {
        server.inject({ type: "status", status }, { path });
      }
      server.inject({ type: "reset" }, { path });
      assert.ok(await client.readKv("secret", "bitrix-app/app"));
      assert.equal(count(server, path), 6);

      assert.equal(await client.readKv("secret", "bitrix-app/nothing"), null);
      assert.equal(count(server, "secret/data/bitrix-app/nothing"), 1);

      await Deno.writeTextFile(p.secretIdFile, "wrong-secret-id");
      server.revokeAllTokens();
      await assert.rejects(client.readKv("secret", "bitrix-app/app"), (err: Error) => {
        assert.ok(err instanceof VaultError);
        assert.equal(err.kind, "invalid_credentials");
        assert.deepEqual(err.errors, ["invalid role or secret ID"]);
        return true;
      });
      assert.equal(count(server, LOGIN, 400), 1);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - per-request timeout", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient({
      ...clientOptions(server, p),
      timeoutMs: 50,
      retry: { attempts: 1 },
    });
    try {
      server.inject({ type: "delay", ms: 2000 }, { path: LOGIN });
      const started = Date.now();
      await assert.rejects(client.login(), (err: Error) => {
        assert.ok(err instanceof VaultError);
        assert.equal(err.kind, "timeout");
        return true;
      });
      assert.ok(Date.now() - started < 1000);
    } finally {
      await client.close();
    }
  });
});

Deno.test("VaultClient - health reasons never contain secrets", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient(clientOptions(server, p));
    try {
      assert.deepEqual(await client.health(), { ok: true });
      server.seal();
      assert.deepEqual(await client.health(), { ok: false, reason: "vault sealed" });
      server.unseal();
      // lookup-self denied even after a fresh login: the token is useless to the app
      await server.admin("POST", "auth/approle/role/bitrix-app", { token_no_default_policy: true });
      server.revokeAllTokens();
      assert.deepEqual(await client.health(), { ok: false, reason: "vault token invalid" });
      await Deno.writeTextFile(p.secretIdFile, "wrong");
      server.revokeAllTokens();
      const refused = await client.health();
      assert.equal(refused.ok, false);
      assert.match(refused.reason!, /login refused/);
    } finally {
      await client.close();
    }
  });
  const uninitialized = startVaultTestServer({ initialized: false });
  const client = new VaultClient({ addr: uninitialized.addr, roleId: "r", secretId: "s" });
  try {
    assert.deepEqual(await client.health(), { ok: false, reason: "vault not initialized" });
  } finally {
    await client.close();
    await uninitialized.close();
  }
  const gone = new VaultClient({ addr: uninitialized.addr, roleId: "r", secretId: "s" });
  assert.deepEqual(await gone.health(), { ok: false, reason: "vault unreachable" });
  await gone.close();
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

Deno.test("VaultClient - close revokes the token and stops further calls", async () => {
  await withVault(async (server, p) => {
    const client = new VaultClient(clientOptions(server, p));
    await client.login();
    assert.equal(server.activeTokens(), 1);
    await client.close();
    assert.equal(server.activeTokens(), 0);
    assert.equal(count(server, "auth/token/revoke-self", 204), 1);
    await assert.rejects(client.readKv("secret", "bitrix-app/app"), /vault client closed/);
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
