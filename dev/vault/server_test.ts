import assert from "node:assert/strict";
import { startVaultTestServer, type VaultTestServer } from "./mod.ts";

interface Answer {
  status: number;
  body: Record<string, unknown> | null;
}

/** A raw call, the way any Vault client would make it. */
async function call(
  server: VaultTestServer,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers["X-Vault-Token"] = options.token;
  const res = await fetch(`${server.addr}/v1/${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function withServer(
  fn: (server: VaultTestServer) => Promise<void>,
  options: Parameters<typeof startVaultTestServer>[0] = {},
): Promise<void> {
  const server = startVaultTestServer(options);
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

/** Creates an AppRole role with `policy` and returns a logged-in token's auth object. */
async function appToken(
  server: VaultTestServer,
  policy: string,
  role: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  await server.admin("POST", "sys/auth/approle", { type: "approle" });
  await server.admin("PUT", "sys/policies/acl/app", { policy });
  await server.admin("POST", "auth/approle/role/app", { token_policies: "app", ...role });
  const roleId = (await server.admin("GET", "auth/approle/role/app/role-id") as {
    data: { role_id: string };
  }).data.role_id;
  const secretId = (await server.admin("POST", "auth/approle/role/app/secret-id") as {
    data: { secret_id: string };
  }).data.secret_id;
  const login = await call(server, "POST", "auth/approle/login", {
    body: { role_id: roleId, secret_id: secretId },
  });
  assert.equal(login.status, 200);
  return login.body!.auth as Record<string, unknown>;
}

Deno.test("Vault test server - envelope, unknown paths, methods, tokens", async () => {
  await withServer(async (server) => {
    const lookup = await call(server, "GET", "auth/token/lookup-self", {
      headers: { Authorization: `Bearer ${server.rootToken}` },
    });
    assert.equal(lookup.status, 200);
    for (const field of ["request_id", "lease_id", "renewable", "lease_duration", "wrap_info"]) {
      assert.ok(field in lookup.body!, field);
    }
    assert.deepEqual((lookup.body!.data as { policies: string[] }).policies, ["root"]);
    assert.deepEqual(await call(server, "GET", "nowhere/at/all", { token: server.rootToken }), {
      status: 404,
      body: { errors: [] },
    });
    assert.equal((await call(server, "DELETE", "sys/health")).status, 405);
    assert.deepEqual(await call(server, "GET", "secret/data/x"), {
      status: 403,
      body: { errors: ["permission denied"] },
    });
    assert.deepEqual(await call(server, "GET", "secret/data/x", { token: "hvs.nope" }), {
      status: 403,
      body: { errors: ["permission denied", "invalid token"] },
    });
  });
  await withServer(async (server) => {
    assert.deepEqual((await call(server, "GET", "secret/data/x", { token: "bad" })).body, {
      errors: ["permission denied"],
    });
  }, { legacyForbidden: true });
});

Deno.test("Vault test server - AppRole login, token TTL on the clock, renew capped at max TTL", async () => {
  await withServer(async (server) => {
    const auth = await appToken(server, `path "secret/data/app/*" { capabilities = ["read"] }`, {
      token_ttl: "1m",
      token_max_ttl: "90s",
      secret_id_num_uses: 2,
    });
    assert.equal(auth.lease_duration, 60);
    assert.equal(auth.renewable, true);
    assert.deepEqual(auth.policies, ["app", "default"]);
    assert.match(String(auth.client_token), /^hvs\./);
    const token = String(auth.client_token);

    await server.advance(50_000);
    const renewed = await call(server, "POST", "auth/token/renew-self", {
      token,
      body: { increment: "60s" },
    });
    assert.equal((renewed.body!.auth as { lease_duration: number }).lease_duration, 40);
    const self = await call(server, "GET", "auth/token/lookup-self", { token });
    assert.equal((self.body!.data as { ttl: number }).ttl, 40);
    await server.advance(41_000);
    assert.equal((await call(server, "GET", "auth/token/lookup-self", { token })).status, 403);

    const roleId = (await server.admin("GET", "auth/approle/role/app/role-id") as {
      data: { role_id: string };
    }).data.role_id;
    const secret = (await server.admin("POST", "auth/approle/role/app/secret-id", {
      ttl: "30s",
    }) as { data: { secret_id: string; secret_id_num_uses: number } }).data;
    assert.equal(secret.secret_id_num_uses, 2);
    const login = () =>
      call(server, "POST", "auth/approle/login", {
        body: { role_id: roleId, secret_id: secret.secret_id },
      });
    assert.equal((await login()).status, 200);
    await server.advance(31_000);
    assert.deepEqual(await login(), {
      status: 400,
      body: { errors: ["invalid role or secret ID"] },
    });

    const once = (await server.admin("POST", "auth/approle/role/app/secret-id", {
      num_uses: 1,
    }) as { data: { secret_id: string } }).data.secret_id;
    const use = () =>
      call(server, "POST", "auth/approle/login", { body: { role_id: roleId, secret_id: once } });
    assert.equal((await use()).status, 200);
    assert.equal((await use()).status, 400);

    const revoked = await call(server, "POST", "auth/token/revoke-self", {
      token: server.rootToken,
    });
    assert.deepEqual(revoked, { status: 204, body: null });
  });
});

Deno.test("Vault test server - path-glob ACL", async () => {
  await withServer(async (server) => {
    const auth = await appToken(
      server,
      `
      # comments are ignored
      path "secret/data/app/*" { capabilities = ["read"] }
      path "secret/data/app/hidden" { capabilities = ["deny"] }
      path "secret/data/+/shared" { capabilities = ["read", "create", "update"] }
      `,
    );
    const token = String(auth.client_token);
    for (const p of ["app/one", "app/hidden", "x/shared", "other"]) {
      await server.admin("POST", `secret/data/${p}`, { data: { v: p } });
    }
    const status = async (method: string, path: string, body?: unknown) =>
      (await call(server, method, `secret/data/${path}`, { token, body })).status;
    assert.equal(await status("GET", "app/one"), 200);
    assert.equal(await status("GET", "app/hidden"), 403);
    assert.equal(await status("GET", "x/shared"), 200);
    assert.equal(await status("GET", "x/y/shared"), 403);
    assert.equal(await status("GET", "other"), 403);
    assert.equal(await status("POST", "app/one", { data: {} }), 403);
    assert.equal(await status("POST", "x/shared", { data: { v: 2 } }), 200);
    assert.equal((await call(server, "GET", "sys/mounts", { token })).status, 403);
    assert.equal(
      (await call(server, "PUT", "sys/policies/acl/bad", {
        token: server.rootToken,
        body: { policy: `path "x" { capabilities = ["fly"] }` },
      })).status,
      400,
    );
  });
});

Deno.test("Vault test server - KV v2 versions, cas, soft delete, listing", async () => {
  await withServer(async (server) => {
    const t = server.rootToken;
    const write = (data: unknown, cas?: number) =>
      call(server, "POST", "secret/data/app/db", {
        token: t,
        body: { data, ...(cas === undefined ? {} : { options: { cas } }) },
      });
    assert.deepEqual(await call(server, "GET", "secret/data/app/db", { token: t }), {
      status: 404,
      body: { errors: [] },
    });
    assert.equal(((await write({ a: 1 }, 0)).body!.data as { version: number }).version, 1);
    assert.deepEqual((await write({ a: 9 }, 0)).body, {
      errors: ["check-and-set parameter did not match the current version"],
    });
    assert.equal(((await write({ a: 2 }, 1)).body!.data as { version: number }).version, 2);
    const read = await call(server, "GET", "secret/data/app/db", { token: t });
    assert.deepEqual((read.body!.data as { data: unknown }).data, { a: 2 });
    const v1 = await call(server, "GET", "secret/data/app/db?version=1", { token: t });
    assert.deepEqual((v1.body!.data as { data: unknown }).data, { a: 1 });

    assert.equal((await call(server, "DELETE", "secret/data/app/db", { token: t })).status, 204);
    const deleted = await call(server, "GET", "secret/data/app/db", { token: t });
    assert.equal(deleted.status, 404);
    assert.equal("errors" in deleted.body!, false);
    const data = deleted.body!.data as { data: unknown; metadata: Record<string, unknown> };
    assert.equal(data.data, null);
    assert.equal(data.metadata.version, 2);
    assert.notEqual(data.metadata.deletion_time, "");
    await call(server, "POST", "secret/undelete/app/db", { token: t, body: { versions: [2] } });
    assert.equal((await call(server, "GET", "secret/data/app/db", { token: t })).status, 200);

    const list = await call(server, "LIST", "secret/metadata/app", { token: t });
    assert.deepEqual((list.body!.data as { keys: string[] }).keys, ["db"]);
    const root = await call(server, "GET", "secret/metadata/?list=true", { token: t });
    assert.deepEqual((root.body!.data as { keys: string[] }).keys, ["app/"]);
    const meta = await call(server, "GET", "secret/metadata/app/db", { token: t });
    assert.equal((meta.body!.data as { current_version: number }).current_version, 2);

    const v1Style = await call(server, "GET", "secret/app/db", { token: t });
    assert.equal(v1Style.status, 404);
    assert.match((v1Style.body!.warnings as string[])[0], /Invalid path for a versioned K\/V/);
  });
});

Deno.test("Vault test server - init, unseal progress, sealed answers, health codes, faults", async () => {
  await withServer(async (server) => {
    assert.equal((await call(server, "GET", "sys/health")).status, 501);
    assert.equal((await call(server, "GET", "sys/health?uninitcode=299")).status, 299);
    const init = await call(server, "PUT", "sys/init", {
      body: { secret_shares: 3, secret_threshold: 2 },
    });
    const { keys_base64: keys, root_token: root } = init.body as {
      keys_base64: string[];
      root_token: string;
    };
    assert.equal(keys.length, 3);
    assert.equal((await call(server, "PUT", "sys/init", { body: {} })).status, 400);

    const health = await call(server, "GET", "sys/health");
    assert.equal(health.status, 503);
    assert.equal(health.body!.sealed, true);
    assert.deepEqual(await call(server, "GET", "secret/data/x", { token: root }), {
      status: 503,
      body: { errors: ["Vault is sealed"] },
    });
    const step = await call(server, "PUT", "sys/unseal", { body: { key: keys[0] } });
    assert.deepEqual([step.body!.sealed, step.body!.progress, step.body!.t], [true, 1, 2]);
    const done = await call(server, "PUT", "sys/unseal", { body: { key: keys[2] } });
    assert.deepEqual([done.body!.sealed, done.body!.progress], [false, 0]);
    assert.equal((await call(server, "GET", "sys/health")).status, 200);
    assert.equal((await fetch(`${server.addr}/v1/sys/health`, { method: "HEAD" })).status, 200);

    server.inject({ type: "status", status: 429 }, { times: 2, path: "sys/seal-status" });
    assert.equal((await call(server, "GET", "sys/seal-status")).status, 429);
    assert.equal((await call(server, "GET", "sys/health")).status, 200); // path filter
    assert.equal((await call(server, "GET", "sys/seal-status")).status, 429);
    assert.equal((await call(server, "GET", "sys/seal-status")).status, 200);
    server.inject({ type: "reset" });
    await assert.rejects(call(server, "GET", "sys/health"), TypeError);
  }, { initialized: false });
});
