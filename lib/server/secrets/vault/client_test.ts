import assert from "node:assert/strict";
import { type ManualClock, startVaultTestServer } from "../../../../dev/vault/mod.ts";
import { VaultClient } from "./client.ts";
import { VaultError } from "./errors.ts";
import { sleep } from "../../../../tests/support/wait.ts";
import {
  APP,
  clientOptions,
  count,
  FAST_RETRY,
  LOGIN,
  newSecretId,
  withVault,
} from "./test_utils.ts";

Deno.test("VaultClient - concurrent first calls share one login, counted in the app's metrics", async () => {
  await withVault(async (server, p) => {
    const counters = { logins: 0, renewals: 0, renewalFailures: 0 };
    const client = new VaultClient({ ...clientOptions(server, p), counters });
    try {
      const results = await Promise.all(
        Array.from({ length: 5 }, () => client.readKv("secret", "bitrix-app/app")),
      );
      assert.ok(results.every((r) => r?.version === 1 && r.data.bitrix_client_id));
      assert.equal(count(server, LOGIN), 1);
      assert.deepEqual(counters, { logins: 1, renewals: 0, renewalFailures: 0 });
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
