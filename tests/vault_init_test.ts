import assert from "node:assert/strict";
import { startVaultTestServer, type VaultTestServer } from "../dev/vault/mod.ts";
import { runVaultInit, type VaultInitOptions } from "../deploy/vault_init.ts";
import { VaultError, VaultSecrets } from "../lib/server/secrets/vault.ts";
import "./support/logs.ts"; // the in-process runs' log lines: printed when a test fails

const ROOT = new URL("../", import.meta.url).pathname;
const SCRIPT = new URL("../deploy/vault_init.ts", import.meta.url).pathname;

interface KvBody {
  data: { data: Record<string, unknown> | null; metadata: { version: number } };
}

async function kv(server: VaultTestServer, path: string): Promise<KvBody["data"]> {
  return (await server.admin("GET", `secret/data/bitrix-app/${path}`) as KvBody).data;
}

/** Runs the script as the `vault-init` container would: a separate process, env only. */
async function runScript(env: Record<string, string>): Promise<{ code: number; output: string }> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-net", "--allow-read", "--allow-write", "--allow-env", SCRIPT],
    cwd: ROOT,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

Deno.test("vault_init.ts - twice against a fresh Vault: idempotent, and the app can use it", async () => {
  const server = startVaultTestServer({ kvMounts: [] }); // a production server: nothing enabled
  const dir = await Deno.makeTempDir({ prefix: "vault_init_" });
  try {
    await Deno.writeTextFile(`${dir}/client_secret`, "bx-secret-from-a-file\n");
    const env = {
      VAULT_ADDR: server.addr,
      VAULT_TOKEN: server.rootToken,
      VAULT_APPROLE_DIR: `${dir}/approle`,
      VAULT_TOKEN_TTL: "20m",
      BITRIX_CLIENT_ID: "app.first",
      BITRIX_CLIENT_SECRET_FILE: `${dir}/client_secret`,
      DATABASE_URL: "postgres://app:db-pass@db:5432/app",
      VAULT_WAIT_SECONDS: "5",
    };

    const first = await runScript(env);
    assert.equal(first.code, 0, first.output);
    const roleId = await Deno.readTextFile(`${dir}/approle/role_id`);
    const secretId1 = await Deno.readTextFile(`${dir}/approle/secret_id`);
    for (const name of ["role_id", "secret_id", "secret_id_accessor"]) {
      assert.equal((await Deno.stat(`${dir}/approle/${name}`)).mode! & 0o777, 0o600, name);
    }
    const ring1 = await kv(server, "crypto");
    assert.equal(ring1.metadata.version, 1);
    assert.deepEqual(await kv(server, "app"), {
      data: {
        bitrix_client_id: "app.first",
        bitrix_client_secret: "bx-secret-from-a-file",
        database_url: "postgres://app:db-pass@db:5432/app",
      },
      metadata: (await kv(server, "app")).metadata,
    });
    const role1 = await server.admin("GET", "auth/approle/role/bitrix-app");
    const policy1 = await server.admin("GET", "sys/policies/acl/bitrix-app");

    // Second run, with a changed client id in the environment: nothing that exists changes.
    const second = await runScript({ ...env, BITRIX_CLIENT_ID: "app.changed" });
    assert.equal(second.code, 0, second.output);
    assert.equal(await Deno.readTextFile(`${dir}/approle/role_id`), roleId);
    const secretId2 = await Deno.readTextFile(`${dir}/approle/secret_id`);
    assert.notEqual(secretId2, secretId1);
    assert.equal(server.secretIdCount("bitrix-app"), 1, "the previous secret_id is destroyed");
    assert.deepEqual(await kv(server, "crypto"), ring1, "the key ring never changes");
    const app = await kv(server, "app");
    assert.equal(app.metadata.version, 1);
    assert.equal(app.data?.bitrix_client_id, "app.first");
    assert.deepEqual(
      (await server.admin("GET", "auth/approle/role/bitrix-app") as { data: unknown }).data,
      (role1 as { data: unknown }).data,
    );
    assert.deepEqual(
      (await server.admin("GET", "sys/policies/acl/bitrix-app") as { data: unknown }).data,
      (policy1 as { data: unknown }).data,
    );
    const auths = await server.admin("GET", "sys/auth") as { data: Record<string, unknown> };
    assert.deepEqual(Object.keys(auths.data).sort(), ["approle/", "token/"]);

    // Neither run printed a secret.
    for (const secret of [secretId1.trim(), secretId2.trim(), roleId.trim(), server.rootToken]) {
      assert.ok(!(first.output + second.output).includes(secret));
    }
    for (const secret of ["bx-secret-from-a-file", "db-pass", ring1.data!.keys as string]) {
      assert.ok(!(first.output + second.output).includes(String(secret)));
    }

    // The app logs in with the written files and reads everything; it cannot write.
    const secrets = new VaultSecrets({
      addr: server.addr,
      roleIdFile: `${dir}/approle/role_id`,
      secretIdFile: `${dir}/approle/secret_id`,
      retry: { attempts: 1 },
    });
    try {
      assert.deepEqual(await secrets.appSecrets(), {
        bitrixClientId: "app.first",
        bitrixClientSecret: "bx-secret-from-a-file",
        databaseUrl: "postgres://app:db-pass@db:5432/app",
      });
      assert.deepEqual(await secrets.keyRing(), ring1.data);
      assert.deepEqual(await secrets.health(), { ok: true });
      await assert.rejects(
        secrets.client.request("POST", "secret/data/bitrix-app/crypto", { body: { data: {} } }),
        (err: Error) => err instanceof VaultError && err.kind === "permission_denied",
      );
      await assert.rejects(
        secrets.client.request("GET", "secret/metadata/bitrix-app/crypto"),
        (err: Error) => err instanceof VaultError && err.kind === "permission_denied",
      );
    } finally {
      await secrets.close();
    }
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

function options(server: VaultTestServer, dir: string): VaultInitOptions {
  return {
    addr: server.addr,
    initKeysFile: `${dir}/init-keys.json`,
    initShares: 3,
    initThreshold: 2,
    waitMs: 2000,
    pollMs: 10,
    kvMount: "secret",
    kvPath: "bitrix-app",
    approleMount: "approle",
    roleName: "bitrix-app",
    policyName: "bitrix-app",
    tokenTtl: "1h",
    tokenMaxTtl: "24h",
    secretIdTtl: "0",
    outputDir: `${dir}/approle`,
    seed: {},
  };
}

Deno.test("runVaultInit - initializes and unseals a new Vault, unseals it again after a restart", async () => {
  const server = startVaultTestServer({ initialized: false, kvMounts: [] });
  const dir = await Deno.makeTempDir({ prefix: "vault_init_" });
  try {
    const first = await runVaultInit(options(server, dir));
    assert.equal(first.initialized, true);
    assert.equal(first.unsealed, true);
    assert.equal(first.keyCreated, true);
    assert.deepEqual(first.appFieldsAdded, []);
    assert.equal((await Deno.stat(`${dir}/init-keys.json`)).mode! & 0o777, 0o600);
    const keys = JSON.parse(await Deno.readTextFile(`${dir}/init-keys.json`));
    assert.equal(keys.keys_base64.length, 3);
    assert.equal(keys.root_token, server.rootToken);

    server.seal(); // a restart
    const second = await runVaultInit({
      ...options(server, dir),
      seed: { database_url: "pg://x" },
    });
    assert.deepEqual(
      { ...second, previousSecretIdDestroyed: undefined },
      {
        initialized: false,
        unsealed: true,
        approleEnabled: false,
        kvMounted: false,
        appFieldsAdded: ["database_url"],
        keyCreated: false,
        previousSecretIdDestroyed: undefined,
      },
    );
    assert.equal(server.sealed, false);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runVaultInit - waits for an operator when it may not initialize, then gives up", async () => {
  const server = startVaultTestServer({ initialized: false });
  const dir = await Deno.makeTempDir({ prefix: "vault_init_" });
  try {
    await assert.rejects(
      runVaultInit({ ...options(server, dir), initKeysFile: undefined, waitMs: 50 }),
      /vault is not initialized/,
    );
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runVaultInit - never replaces a deleted key ring", async () => {
  const server = startVaultTestServer();
  const dir = await Deno.makeTempDir({ prefix: "vault_init_" });
  try {
    const opts = { ...options(server, dir), token: server.rootToken, initKeysFile: undefined };
    await runVaultInit(opts);
    await server.admin("DELETE", "secret/data/bitrix-app/crypto");
    await assert.rejects(runVaultInit(opts), /key ring at .* is deleted/);
    const meta = await server.admin("GET", "secret/metadata/bitrix-app/crypto") as {
      data: { current_version: number };
    };
    assert.equal(meta.data.current_version, 1);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
