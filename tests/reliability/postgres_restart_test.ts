/**
 * PostgreSQL stopped and started again under a bounded load of call reports (phones reporting
 * start → answer → end through `/api/calls`, the portal emulator behind): `/readyz` says 503
 * during the outage and 200 after, the app is not restarted, and every report a phone got a
 * 2xx for is in the database afterwards, each call exactly once.
 *
 * The phones retry failed reports (network errors, 5xx) with backoff until they get an answer,
 * as a phone should (see the README: the browser phone does not retry yet).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startBitrixHarness } from "../support/bitrix.ts";
import { noPostgres, startPostgres } from "../support/postgres.ts";
import { calls as callsTable } from "../../lib/server/db/schema.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { readiness, waitUntilReady } from "../support/http.ts";
import { sleep, waitFor } from "../support/wait.ts";

const PHONES = [1, 2, 3, 4]; // portal users, one phone each
const ADMIN = 1;

interface Reported {
  sipCallId: string;
  userId: number;
  number: string;
  direction: "inbound" | "outbound";
  /** Phases the phone got a 2xx for. */
  acked: Set<"start" | "answer" | "end">;
  sipStatus: number;
  durationSec: number;
}

Deno.test({
  name: "[reliability] PostgreSQL restarted under load: 503 then 200, every acknowledged call once",
  ignore: noPostgres,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async () => {
      const pg = await startPostgres();
      try {
        await using h = await startBitrixHarness({
          databaseUrl: pg.url,
          portal: { rateLimit: false },
        });
        assertEquals((await h.install()).status, 200);
        const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
        assertEquals((await h.widget(ADMIN, { event: "UPDATECREED", ...creds })).status, 200);
        for (const userId of new Set(PHONES)) {
          const me = await h.widget(userId, { event: "GETME" }); // the phone's page load
          assertEquals(me.status, 200);
          await me.body?.cancel();
        }

        let retries = 0;
        /** One report, retried like a phone: until a 2xx, backing off on errors and 5xx. */
        const report = async (userId: number, body: Record<string, unknown>) => {
          for (let attempt = 0;; attempt++) {
            let status = 0;
            try {
              const res = await h.calls(userId, { body });
              status = res.status;
              await res.body?.cancel();
            } catch {
              status = 0; // connection refused or reset
            }
            if (status >= 200 && status < 300) return;
            if (status >= 400 && status < 500 && status !== 429) {
              throw new Error(`${JSON.stringify(body)} answered ${status}`);
            }
            retries++;
            if (attempt > 200) throw new Error(`${JSON.stringify(body)} never succeeded`);
            await sleep(Math.min(1000, 25 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random()));
          }
        };

        const reported: Reported[] = [];
        let stopping = false;
        const phone = async (userId: number, index: number) => {
          for (let n = 0; !stopping; n++) {
            const call: Reported = {
              sipCallId: `pg-${index}-${n}@pbx.example.com`,
              userId,
              number: `+7495${String(index).padStart(3, "0")}${String(n).padStart(4, "0")}`,
              direction: n % 2 ? "inbound" : "outbound",
              acked: new Set(),
              sipStatus: n % 3 ? 200 : 486,
              durationSec: n % 3 ? n % 60 : 0,
            };
            reported.push(call);
            const { sipCallId } = call;
            await report(userId, {
              phase: "start",
              sipCallId,
              direction: call.direction,
              number: call.number,
            });
            call.acked.add("start");
            if (call.sipStatus === 200) {
              await report(userId, { phase: "answer", sipCallId });
              call.acked.add("answer");
            }
            await report(userId, {
              phase: "end",
              sipCallId,
              sipStatus: call.sipStatus,
              durationSec: call.durationSec,
            });
            call.acked.add("end");
            await sleep(20);
          }
        };
        const phones = Promise.all(PHONES.map((userId, i) => phone(userId, i)));

        await sleep(1500);
        const beforeOutage = reported.filter((c) => c.acked.has("end")).length;
        assert(beforeOutage > 0, "calls went through before the outage");
        assertEquals((await readiness(h.app.url)).status, 200);

        await pg.stop();
        const outage: number[] = [];
        for (let i = 0; i < 4; i++) {
          outage.push((await readiness(h.app.url)).status);
          await sleep(250);
        }
        const down = await readiness(h.app.url);
        assertEquals(outage, outage.map(() => 503), "readiness during the outage");
        assertEquals(down.body.checks.database.ok, false);
        const healthz = await fetch(`${h.app.url}/healthz`);
        await healthz.body?.cancel();
        assertEquals(healthz.status, 200, "the process is up during the outage");

        await pg.start();
        // postgres.js waits between reconnects (backoff growing to 20 s after failed connects),
        // so "after" may take a while; see the README.
        await waitUntilReady(h.app.url, { timeoutMs: 60_000, intervalMs: 250 });
        const recovered = reported.filter((c) => c.acked.has("end")).length;
        await waitFor("new calls after the restart", () =>
          reported.filter((c) => c.acked.has("end")).length > recovered + PHONES.length, {
          timeoutMs: 60_000,
        });
        stopping = true;
        await phones;

        // Every acknowledged report is in the database, every call exactly once.
        const rows = await h.app.services.database.db.select().from(callsTable);
        const bySip = new Map<string, typeof rows>();
        for (const row of rows) {
          bySip.set(row.sipCallId, [...(bySip.get(row.sipCallId) ?? []), row]);
        }
        assertEquals(rows.length, reported.length, "one row per call, none extra");
        for (const call of reported) {
          const found = bySip.get(call.sipCallId) ?? [];
          assertEquals(found.length, 1, `${call.sipCallId}: ${found.length} rows`);
          const [row] = found;
          assertEquals(row.bitrixUserId, call.userId);
          assertEquals(row.phoneNumber, call.number);
          assertEquals(row.direction, call.direction);
          assertEquals(Boolean(row.answeredAt), call.acked.has("answer"), call.sipCallId);
          assert(row.endedAt, `${call.sipCallId} has no end`);
          assertEquals(row.sipStatus, call.sipStatus);
          assertEquals(row.durationSec, call.durationSec);
        }
        assert(retries > 0, "some reports failed during the outage and were retried");

        // The Bitrix24 side catches up: every call registered and finished there exactly once.
        const sync = h.app.services.bitrix.callSync;
        const ok = (method: string) =>
          h.portal.records.calls(method).filter((c) =>
            c.status === 200
          );
        const rowsNow = await h.app.services.database.db.select().from(callsTable);
        await waitFor("every call finished in Bitrix24", async () => {
          await sync.runOnce(50);
          const finished = new Set(
            ok("telephony.externalcall.finish").map((c) => c.params.CALL_ID),
          );
          return rowsNow.every((r) => r.bitrixCallId && finished.has(r.bitrixCallId)) ||
            (await h.app.services.database.db.select().from(callsTable)).every((r) =>
              r.bitrixCallId && finished.has(r.bitrixCallId)
            );
          // Known (issue 20 note): with these test timings (1 s claims, one SDK retry) the
          // drain after the restart has taken up to a minute since claims were introduced;
          // bench:chaos, with the production timings, drains in ~2 s after a restart.
        }, { timeoutMs: 150_000, intervalMs: 200 });
        const finishes = ok("telephony.externalcall.finish").map((c) => String(c.params.CALL_ID));
        assertEquals(finishes.length, reported.length, "one successful finish per call");
        assertEquals(new Set(finishes).size, reported.length);
        const registered = ok("telephony.externalcall.register").map((c) =>
          String(c.params.EXTERNAL_CALL_ID)
        );
        assertEquals(
          [...new Set(registered)].sort(),
          reported.map((c) => c.sipCallId).sort(),
          "every call registered (a repeated register is deduplicated by Bitrix24)",
        );
        const final = await h.app.services.database.db.select().from(callsTable);
        const byCallId = new Map(final.map((r) => [r.bitrixCallId, r]));
        assertEquals(finishes.every((id) => byCallId.has(id)), true, "finished the rows' calls");
        // Known defect (see the README): a finish that Bitrix24 accepted while PostgreSQL went
        // down is never marked; the retries get ERROR_CORE ("Call is not found") until the row
        // gives up. Counted here, not asserted.
        const stuck = final.filter((r) => r.syncState !== "synced");
        if (Deno.env.get("RELIABILITY_VERBOSE") || stuck.length) {
          console.log(
            `${reported.length} calls (${beforeOutage} before the outage), ${retries} retried` +
              ` reports, ${registered.length - reported.length} repeated registrations,` +
              ` ${stuck.length} rows finished in Bitrix24 but still ${
                [...new Set(stuck.map((r) => `${r.syncState}/${r.lastSyncError}`))].join(", ") ||
                "-"
              }`,
          );
        }
      } finally {
        await pg.close();
      }
    }),
});
