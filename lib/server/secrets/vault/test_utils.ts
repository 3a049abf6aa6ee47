/**
 * Test helpers for the Vault client and provider tests: a fresh dev/vault server provisioned
 * with AppRole, the app's policy, role, credential files and KV secrets, and request counting.
 * Importing this module captures every log line into `logLines` (tests assert what was, and
 * was not, logged; the output stays quiet).
 *
 * @module
 */
import { startVaultTestServer, type VaultTestServer } from "../../../../dev/vault/mod.ts";
import { log } from "../../log.ts";
import type { VaultClientOptions } from "./client.ts";

/** Every log line of the tests that import this module. */
export const logLines: string[] = [];
log.setSink((line) => logLines.push(line));

/** A 32-byte key (base64) in the provisioned key ring. */
export const KEY = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
/** The app secrets provisioned at `secret/data/bitrix-app/app`. */
export const APP = {
  bitrix_client_id: "app.0123456789",
  bitrix_client_secret: "bx-client-secret-value",
  database_url: "postgres://app:db-password@db/app",
};
/** The app's policy: read its own KV folder. */
export const APP_POLICY = `
path "secret/data/bitrix-app/*" { capabilities = ["read"] }
`;
/** Retries short enough for tests. */
export const FAST_RETRY = { attempts: 4, baseMs: 5, maxMs: 20 };

/** What `provision` set up: the AppRole credentials and the files holding them. */
export interface Provisioned {
  roleId: string;
  secretId: string;
  roleIdFile: string;
  secretIdFile: string;
  dir: string;
}

/** Sets up AppRole, the app policy and role, credential files and the app's KV secrets. */
export async function provision(
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

/** A fresh secret_id for the app's role. */
export async function newSecretId(server: VaultTestServer): Promise<string> {
  const body = await server.admin("POST", "auth/approle/role/bitrix-app/secret-id") as {
    data: { secret_id: string };
  };
  return body.data.secret_id;
}

/** Client options reaching `server` with the provisioned credential files. */
export function clientOptions(server: VaultTestServer, p: Provisioned): VaultClientOptions {
  return {
    addr: server.addr,
    roleIdFile: p.roleIdFile,
    secretIdFile: p.secretIdFile,
    timeoutMs: 1000,
    retry: FAST_RETRY,
  };
}

/** How many recorded requests went to `path` (answered with `status`, when given). */
export function count(server: VaultTestServer, path: string, status?: number): number {
  return server.requests.filter((r) =>
    r.path === path && (status === undefined || r.status === status)
  ).length;
}

/** The AppRole login path. */
export const LOGIN = "auth/approle/login";

/** Runs `fn` with a fresh server and provisioning, cleaning up whatever happens. */
export async function withVault(
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
