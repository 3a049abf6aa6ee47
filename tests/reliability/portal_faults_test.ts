/**
 * The portal misbehaving for a while — HTML 503s from its front server, QUERY_LIMIT_EXCEEDED,
 * `expired_token` whatever the token, requests that never get an answer, 500s — while phones
 * report calls, and two sync passes run at once (like two instances): afterwards every call is
 * registered and finished in Bitrix24 exactly once and every row is synced.
 *
 * The emulator holds `timeout` requests for 60 s; the app's SDK client gets a 300 ms timeout
 * here (production: 30 s), and the sync lease is longer than one attempt can take (as in
 * production it must be: see the README about `LEASE_MS`).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startTestApp } from "../support/app.ts";
import { frameClient, TEST_BITRIX_TIMINGS } from "../support/bitrix.ts";
import { startPostgresIfInstalled } from "../support/postgres.ts";
import { freePort } from "../support/ports.ts";
import { startPortal } from "../../dev/portal/mod.ts";
import type { Services } from "../../lib/server/services.ts";
import { calls as callsTable } from "../../lib/server/db/schema.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { pool } from "./support.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { readJson } from "../support/http.ts";

const ADMIN = 1;
const USERS = [2, 3, 4];
const CALLS_PER_USER = 4;
const SDK_TIMEOUT_MS = 300;

/** Gives the portal's cached SDK client a short HTTP timeout (the SDK's axios default: 30 s). */
async function shortenSdkTimeout(services: Services, memberId: string, ms: number) {
  const portal = (await services.portals.findByMemberId(memberId))!;
  const client = await services.bitrix.clients.forPortal(portal);
  const b24 = (client as unknown as {
    b24: { getHttpClient(v: string): { ajaxClient: { defaults: { timeout: number } } } };
  }).b24;
  for (const version of ["v2", "v3"]) b24.getHttpClient(version).ajaxClient.defaults.timeout = ms;
}

Deno.test({
  name: "[reliability] portal 503 / QUERY_LIMIT / expired_token / timeouts: every call synced once",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async () => {
      await using pg = await startPostgresIfInstalled();
      const portal = await startPortal({ app: { type: "local" } });
      try {
        const port = freePort();
        await using app = await startTestApp({
          PORT: String(port),
          APP_BASE_URL: `http://127.0.0.1:${port}`,
          BITRIX_OAUTH_URL: portal.tokenUrl,
          ENCRYPTION_KEY: generateKey(),
          ...(pg ? { DATABASE_URL: pg.url } : {}),
        }, { bitrix: { ...TEST_BITRIX_TIMINGS, syncBackoffMs: () => 20, syncLeaseMs: 5000 } });

        const frame = frameClient(portal, app.url);

        assertEquals((await frame.install()).status, 200);
        const creds = { clientId: portal.app.clientId, secretId: portal.app.clientSecret };
        assertEquals(
          (await readJson(frame.widget(ADMIN, { event: "UPDATECREED", ...creds }))).status,
          200,
        );
        for (const userId of USERS) {
          assertEquals((await readJson(frame.widget(userId, { event: "GETME" }))).status, 200);
        }
        await shortenSdkTimeout(app.services, portal.memberId, SDK_TIMEOUT_MS);
        portal.records.clear();

        // The storm: a second of front-server 503s, then a mix in the order set, then 500s for
        // another moment. Every REST method is hit (the token endpoint is not).
        portal.setFault({ kind: "503", forMs: 1000 });
        for (
          const [kind, times] of [
            ["query_limit", 3],
            ["expired_token", 2],
            ["timeout", 2],
            ["503", 2],
            ["expired_token", 1],
            ["query_limit", 2],
            ["timeout", 3],
            ["500", 2],
            ["expired_token", 1],
            ["timeout", 1],
          ] as const
        ) portal.setFault({ kind, times });

        // Phones report their calls meanwhile (a report is stored first and answers 200 even
        // when Bitrix24 fails; phones retry anything else).
        const report = async (userId: number, body: Record<string, unknown>) => {
          for (let attempt = 0; attempt < 50; attempt++) {
            const res = await readJson(frame.calls(userId, { body })).catch(() => ({ status: 0 }));
            if (res.status === 200) return;
            assert(
              res.status === 0 || res.status >= 500,
              `${JSON.stringify(body)} → ${res.status}`,
            );
            await sleep(50);
          }
          throw new Error(`${JSON.stringify(body)} never succeeded`);
        };
        const ids: string[] = [];
        const jobs = USERS.flatMap((userId) =>
          Array.from({ length: CALLS_PER_USER }, (_, n) => ({ userId, n }))
        );
        await pool(jobs, USERS.length, async ({ userId, n }) => {
          const sipCallId = `fault-${userId}-${n}@pbx.example.com`;
          ids.push(sipCallId);
          await report(userId, {
            phase: "start",
            sipCallId,
            direction: n % 2 ? "inbound" : "outbound",
            number: `+749500${userId}${n}`,
          });
          if (n % 3) await report(userId, { phase: "answer", sipCallId });
          await report(userId, {
            phase: "end",
            sipCallId,
            sipStatus: n % 3 ? 200 : 486,
            durationSec: n % 3 ? 10 + n : 0,
          });
        });

        // Two concurrent passes, like two instances, until nothing is pending.
        const sync = app.services.bitrix.callSync;
        await waitFor("the sync backlog to drain", async () => {
          await Promise.all([sync.runOnce(), sync.runOnce()]);
          return await app.services.calls.countPending() === 0;
        }, { timeoutMs: 45_000, intervalMs: 100 });

        const records = (method: string) => portal.records.calls(method);
        const ok = (method: string) => records(method).filter((c) => c.status === 200);
        // The faults really happened.
        const failedStatuses = new Set(
          portal.records.calls().filter((c) => c.status !== 200).map((c) => c.status),
        );
        for (const status of [503, 401, 504, 500]) {
          assert(failedStatuses.has(status), `no ${status} seen: ${[...failedStatuses]}`);
        }
        assert(
          portal.records.oauth().some((o) => o.grantType === "refresh_token" && o.status === 200),
          "expired_token led to a refresh",
        );

        // One Bitrix24 call per SIP call. A register may be sent twice (an answer slower than
        // the client's timeout, then the retry): Bitrix24 deduplicates it to the same CALL_ID.
        const registered = ok("telephony.externalcall.register").map((c) =>
          String(c.params.EXTERNAL_CALL_ID)
        );
        assertEquals([...new Set(registered)].sort(), [...ids].sort(), "each call registered");
        const inPortal = [...portal.state.calls.values()].filter((c) =>
          ids.includes(String(c.externalCallId))
        );
        assertEquals(inPortal.length, ids.length, "one Bitrix24 call per SIP call");
        if (Deno.env.get("RELIABILITY_VERBOSE")) {
          console.log(
            `${portal.records.calls().length} REST calls, ${registered.length - ids.length}` +
              ` repeated registrations, failures: ${[...failedStatuses]}`,
          );
        }
        const finished = ok("telephony.externalcall.finish").map((c) => String(c.params.CALL_ID));
        assertEquals(finished.length, ids.length, "each call finished once");
        const rows = await app.services.database.db.select().from(callsTable);
        assertEquals(rows.length, ids.length);
        assertEquals(new Set(finished), new Set(rows.map((r) => r.bitrixCallId)));
        for (const row of rows) {
          assertEquals(
            [row.syncState, row.registeredInBitrix, row.finishedInBitrix],
            ["synced", true, true],
            row.sipCallId,
          );
          const [finish] = ok("telephony.externalcall.finish").filter((c) =>
            c.params.CALL_ID === row.bitrixCallId
          );
          assertEquals(
            String(finish.params.DURATION),
            String(row.answeredAt ? row.durationSec : 0),
          );
          assertEquals(String(finish.params.USER_ID), String(row.bitrixUserId));
        }
      } finally {
        await portal.close();
      }
    }),
});
