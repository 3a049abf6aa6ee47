/**
 * Vault under trouble, with `SECRETS=vault` against the Vault test server (AppRole, KV v2) and
 * the portal emulator as a marketplace app whose client id and secret live in Vault:
 *
 * - sealed at start: `main.ts` (its own process) starts, `/readyz` answers 503 "vault sealed",
 *   work that needs a secret answers 503 and stores nothing; unsealed → ready, and the same
 *   process installs a portal and seals/opens secrets;
 * - unreachable at start: 503 "vault unreachable", then ready once Vault is up;
 * - at runtime, on the server's clock (shared with the app's Vault client): the token is renewed
 *   at about 2/3 of its lease, logged in again when the max TTL cuts the lease, and after being
 *   revoked; readiness stays truthful (200 while Vault serves, 503 "vault sealed" while sealed);
 *   encrypted reads and writes, token refreshes with the client secret from Vault, and
 *   re-reads of the cached KV values work throughout.
 *
 * `DATABASE_URL` is always given, so start-up needs no Vault.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startTestApp } from "../support/app.ts";
import { frameClient, TEST_BITRIX_TIMINGS } from "../support/bitrix.ts";
import { freePort } from "../support/ports.ts";
import { type Portal, startPortal } from "../../dev/portal/mod.ts";
import { startVaultTestServer, type VaultTestServer } from "../../dev/vault/mod.ts";
import { parseConfig } from "../../lib/server/config.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { vaultSecretsFromConfig } from "../../lib/server/secrets/vault.ts";
import { spawnApp } from "./support.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { readiness, readJson, waitUntilReady } from "../support/http.ts";
import { waitFor } from "../support/wait.ts";

const ADMIN = 1;
const ANNA = 2;
const POLICY = `path "secret/data/bitrix-app/*" { capabilities = ["read"] }`;
const options = { sanitizeResources: false, sanitizeOps: false };

interface Provisioned {
  roleIdFile: string;
  secretIdFile: string;
  secretId: string;
  dir: string;
}

/** AppRole (role `bitrix-app`), its policy, credential files, and the app's KV secrets. */
async function provision(
  server: VaultTestServer,
  portal: Portal,
  role: Record<string, unknown> = {},
  dir?: string,
): Promise<Provisioned> {
  await server.admin("POST", "sys/auth/approle", { type: "approle" });
  await server.admin("PUT", "sys/policies/acl/bitrix-app", { policy: POLICY });
  await server.admin("POST", "auth/approle/role/bitrix-app", {
    token_policies: ["bitrix-app"],
    token_ttl: "1h",
    token_max_ttl: "24h",
    ...role,
  });
  const { data: { role_id } } = await server.admin(
    "GET",
    "auth/approle/role/bitrix-app/role-id",
  ) as { data: { role_id: string } };
  const { data: { secret_id } } = await server.admin(
    "POST",
    "auth/approle/role/bitrix-app/secret-id",
  ) as { data: { secret_id: string } };
  dir ??= await Deno.makeTempDir({ prefix: "reliability-vault-" });
  await Deno.writeTextFile(`${dir}/role_id`, `${role_id}\n`);
  await Deno.writeTextFile(`${dir}/secret_id`, `${secret_id}\n`);
  await server.admin("POST", "secret/data/bitrix-app/app", {
    data: {
      bitrix_client_id: portal.app.clientId,
      bitrix_client_secret: portal.app.clientSecret,
    },
  });
  await server.admin("POST", "secret/data/bitrix-app/crypto", {
    data: { keys: { "1": generateKey() }, active: "1" },
  });
  return {
    roleIdFile: `${dir}/role_id`,
    secretIdFile: `${dir}/secret_id`,
    secretId: secret_id,
    dir,
  };
}

/** The app's environment for a marketplace app with its secrets in Vault. */
function vaultEnv(
  vaultAddr: string,
  files: { roleIdFile: string; secretIdFile: string },
  portal: Portal,
  port: number,
): Record<string, string> {
  return {
    SECRETS: "vault",
    VAULT_ADDR: vaultAddr,
    VAULT_ROLE_ID_FILE: files.roleIdFile,
    VAULT_SECRET_ID_FILE: files.secretIdFile,
    DATABASE_URL: "pglite:memory",
    PORT: String(port),
    APP_BASE_URL: `http://127.0.0.1:${port}`,
    BITRIX_OAUTH_URL: portal.tokenUrl,
    BITRIX_ALLOW_INSECURE_PORTALS: "true",
    BITRIX_APP_CODE: portal.app.code,
    LOG_LEVEL: "warn",
  };
}

function count(server: VaultTestServer, path: string, status = 200): number {
  return server.requests.filter((r) => r.path === path && r.status === status).length;
}

/** Frame calls against `appUrl` as users of `portal`, read whole. */
function frames(portal: Portal, appUrl: string) {
  const frame = frameClient(portal, appUrl);
  return {
    widget: (userId: number, body: unknown, fresh = false) =>
      readJson(frame.widget(userId, body, { fresh })),
    calls: (userId: number, body: unknown) => readJson(frame.calls(userId, { body })),
    async install() {
      const res = await frame.install();
      return { status: res.status, text: await res.text() };
    },
  };
}

const account = (password: string) => ({
  event: "SAVEUSERDATA",
  userId: ANNA,
  url: "wss://pbx.example.com/ws",
  user: "102",
  password,
});

Deno.test({
  name:
    "[reliability] Vault sealed at start: main.ts serves 503 'vault sealed', then ready on unseal",
  ...options,
  async fn() {
    const server = startVaultTestServer();
    const portal = await startPortal({ app: { type: "market" } });
    const p = await provision(server, portal);
    try {
      server.seal();
      const port = freePort();
      await using app = await spawnApp(vaultEnv(server.addr, p, portal, port), port);

      const sealed = await waitFor("readiness to report the sealed Vault", async () => {
        const r = await readiness(app.url);
        return r.body.checks.migrations.ok ? r : undefined;
      }, { timeoutMs: 20_000 });
      assertEquals(sealed.status, 503);
      assertEquals(sealed.body.checks.secrets, { ok: false, reason: "vault sealed" });
      assertEquals(sealed.body.checks.database, { ok: true });

      // Work that needs a secret fails as 503, not as a crash, and stores nothing.
      const early = await frames(portal, app.url).install();
      assertEquals(early.status, 503, early.text.slice(0, 300));
      assertEquals(portal.records.events("ONAPPINSTALL").length, 0);
      assertEquals((await readiness(app.url)).status, 503);

      server.unseal();
      await waitUntilReady(app.url, { timeoutMs: 20_000 });

      // The same process (no restart) now seals and opens secrets with Vault's key.
      const f = frames(portal, app.url);
      assertEquals((await f.install()).status, 200);
      assertEquals(portal.records.events("ONAPPINSTALL").at(-1)?.status, 200);
      assertEquals((await f.widget(ADMIN, account("sealed-then-unsealed"))).status, 200);
      const me = await f.widget(ANNA, { event: "GETME" });
      assertEquals(me.body.account.password, "sealed-then-unsealed");
      assert(count(server, "secret/data/bitrix-app/crypto") >= 1);

      const status = await app.stop();
      assertEquals(status.code, 0, app.output());
      assert(!app.output().includes(p.secretId), "the secret_id was printed");
    } finally {
      await portal.close();
      await server.close();
      await Deno.remove(p.dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "[reliability] Vault unreachable at start: 503 'vault unreachable', ready once it is up",
  ...options,
  fn: () =>
    withCapturedLogs(async () => {
      const vaultPort = freePort();
      const dir = await Deno.makeTempDir({ prefix: "reliability-vault-" });
      const files = { roleIdFile: `${dir}/role_id`, secretIdFile: `${dir}/secret_id` };
      const portal = await startPortal({ app: { type: "market" } });
      let server: VaultTestServer | undefined;
      try {
        const port = freePort();
        await using app = await startTestApp(
          vaultEnv(`http://127.0.0.1:${vaultPort}`, files, portal, port),
          { bitrix: TEST_BITRIX_TIMINGS },
        );
        const down = await readiness(app.url);
        assertEquals(down.status, 503);
        assertEquals(down.body.checks.secrets, { ok: false, reason: "vault unreachable" });

        // Vault comes up (and vault-init writes the AppRole files); no restart of the app.
        server = startVaultTestServer({ port: vaultPort });
        await provision(server, portal, {}, dir);
        await waitUntilReady(app.url, { timeoutMs: 20_000 });
        const f = frames(portal, app.url);
        assertEquals((await f.install()).status, 200);
        assertEquals((await f.widget(ADMIN, account("after-outage"))).status, 200);
        assertEquals(
          (await f.widget(ANNA, { event: "GETME" })).body.account.password,
          "after-outage",
        );
      } finally {
        await portal.close();
        await server?.close();
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test({
  name:
    "[reliability] Vault token renewed, cut by max TTL, revoked; sealed at runtime: truthful readiness",
  ...options,
  fn: () =>
    withCapturedLogs(async (logs) => {
      const server = startVaultTestServer();
      const portal = await startPortal({ app: { type: "market" } });
      const p = await provision(server, portal, { token_ttl: "1h", token_max_ttl: "3h" });
      try {
        const port = freePort();
        const env = vaultEnv(server.addr, p, portal, port);
        // The app's Vault client runs on the server's manual clock: hours pass in milliseconds.
        const secrets = vaultSecretsFromConfig(parseConfig(env), {
          clock: server.clock,
          retry: { attempts: 3, baseMs: 5, maxMs: 20 },
          timeoutMs: 2000,
        });
        await using app = await startTestApp(env, { secrets, bitrix: TEST_BITRIX_TIMINGS });
        const f = frames(portal, app.url);
        const ready = async () => (await readiness(app.url)).status;

        assertEquals((await f.install()).status, 200);
        assertEquals(portal.records.events("ONAPPINSTALL").at(-1)?.status, 200);
        assertEquals((await f.widget(ADMIN, account("first"))).status, 200);
        assertEquals((await f.widget(ANNA, { event: "GETME" })).body.account.password, "first");
        assertEquals(await ready(), 200);
        const LOGIN = "auth/approle/login";
        const RENEW = "auth/token/renew-self";
        assertEquals(count(server, LOGIN), 1);

        // 45 minutes: past 2/3 of the 1 h lease, the client has renewed in the background.
        await server.advance(45 * 60_000);
        assert(count(server, RENEW) >= 1, "renewed");
        assertEquals(count(server, LOGIN), 1);
        assertEquals(await ready(), 200);

        // To 3 h 30 min in 10-minute steps: renewals until the 3 h max TTL cuts the lease, then
        // a fresh login; readiness answers 200 all along.
        for (let t = 55; t <= 210; t += 10) {
          await server.advance(10 * 60_000);
          assertEquals(await ready(), 200, `at ${t} min`);
        }
        assert(count(server, RENEW) >= 3, `renewals: ${count(server, RENEW)}`);
        assert(count(server, LOGIN) >= 2, "logged in again at the max TTL");
        assertEquals(count(server, RENEW, 403), 0, "never renewed an expired token");

        // The KV values cached for 5 minutes (server clock) are read again when next used: a
        // new frame token (app.info check) and an expired portal token (refresh with the
        // client secret from Vault) both need them.
        const appReads = count(server, "secret/data/bitrix-app/app");
        assertEquals((await f.widget(ANNA, { event: "GETME" }, true)).status, 200);
        portal.expireAllTokens();
        const sipCallId = "after-ttl@pbx";
        const start = await f.calls(ANNA, {
          phase: "start",
          sipCallId,
          direction: "outbound",
          number: "+74951234567",
        });
        assertEquals(start.status, 200);
        const end = await f.calls(ANNA, {
          phase: "end",
          sipCallId,
          sipStatus: 200,
          durationSec: 3,
        });
        assertEquals(end.status, 200);
        await app.services.bitrix.callSync.settled();
        const portalId = (await app.services.portals.findByMemberId(portal.memberId))!.id;
        const row = await app.services.calls.find(portalId, ANNA, sipCallId);
        assertEquals(row?.syncState, "synced");
        // One refresh confirmed the new marketplace portal at install, one renewed the token.
        assertEquals(
          portal.records.oauth().filter((o) => o.grantType === "refresh_token").map((o) =>
            o.status
          ),
          [200, 200],
        );
        await waitFor(
          "a background re-read of the KV values",
          () => count(server, "secret/data/bitrix-app/app") > appReads,
          { timeoutMs: 20_000 },
        );

        // Encrypted writes and reads after the token changes.
        assertEquals((await f.widget(ADMIN, account("second"))).status, 200);
        assertEquals((await f.widget(ANNA, { event: "GETME" })).body.account.password, "second");

        // Revoked behind the client's back: the next call gets 403, logs in again, succeeds.
        const logins = count(server, LOGIN);
        server.revokeAllTokens();
        assertEquals(await ready(), 200);
        assertEquals(count(server, LOGIN), logins + 1);

        // Sealed at runtime: readiness says so; the keys already loaded keep serving reads.
        server.seal();
        const sealed = await readiness(app.url);
        assertEquals(sealed.status, 503);
        assertEquals(sealed.body.checks.secrets, { ok: false, reason: "vault sealed" });
        assertEquals((await f.widget(ANNA, { event: "GETME" })).body.account.password, "second");
        server.unseal();
        assertEquals(await ready(), 200);
        assertEquals((await f.widget(ADMIN, account("third"))).status, 200);
        assertEquals((await f.widget(ANNA, { event: "GETME" })).body.account.password, "third");

        // Nothing secret reached the log.
        const text = logs.join("\n");
        for (const secret of [p.secretId, portal.app.clientSecret, "first", "second", "third"]) {
          assert(
            !text.includes(`"${secret}"`) && !text.includes(p.secretId),
            "a secret was logged",
          );
        }
      } finally {
        await portal.close();
        await server.close();
        await Deno.remove(p.dir, { recursive: true });
      }
    }),
});
