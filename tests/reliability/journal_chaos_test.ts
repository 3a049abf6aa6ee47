/**
 * An operator's bad day for the call journal (issue 20), bounded and on loopback only: the app
 * (`main.ts` in its own process, on real PostgreSQL) serves several emulated portals whose
 * phones report calls like the browser phone's journal outbox (every phase queued, sent at
 * once, retried on any failure but a refusal, each report carrying its age and the call's
 * facts), while the app is killed with SIGKILL and restarted, PostgreSQL is restarted, one
 * portal answers 503 for a while and another hangs. Then the load stops and the sync drains.
 *
 * Afterwards: every call is in the database once with its true outcome and duration; in its
 * portal, every call is one Bitrix24 call (a repeated register is answered with the same
 * CALL_ID by Bitrix24's de-duplication, so repeats are counted and printed, and bounded),
 * finished exactly once with the right STATUS_CODE and DURATION; no row is left pending or
 * failed. The drain time after the load is printed (`bench/chaos.ts` compares fault kinds).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { noPostgres, startPostgres } from "../support/postgres.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { sleep, waitFor } from "../support/wait.ts";
import type { Portal } from "../../dev/portal/mod.ts";
import { openDatabase } from "../../lib/server/db/client.ts";
import { calls as callsTable, portals as portalsTable } from "../../lib/server/db/schema.ts";
import { Random, seedFromEnv } from "./support.ts";
import { startChaosLoad, startChaosWorld } from "./journal_load.ts";

const PORTALS = 4;
const LOAD_MS = 24_000;

Deno.test({
  name: "[reliability] journal chaos: kill -9, PostgreSQL restart, 503s, a hanging portal",
  ignore: noPostgres,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async () => {
      const rng = new Random(seedFromEnv(20));
      await using pg = await startPostgres();
      const world = await startChaosWorld(pg.url, PORTALS);
      const { portals, appUrl } = world;
      try {
        await world.install();
        const load = startChaosLoad({ portals, appUrl, rng });

        // The faults, at spread-out moments of the load.
        const kill = () => world.kill(rng.int(200, 1000));
        const faults: [string, () => Promise<void>][] = [
          ["kill -9", kill],
          ["PostgreSQL restart", async () => {
            await pg.stop();
            await sleep(2000);
            await pg.start();
          }],
          ["503 for 6 s", () => {
            portals[1].setFault({ method: "*", kind: "503", forMs: 6000 });
            return Promise.resolve();
          }],
          ["hanging for 6 s", () => {
            portals[2].setFault({ method: "*", kind: "timeout", forMs: 6000 });
            return Promise.resolve();
          }],
          ["kill -9 again", kill],
        ];
        const step = LOAD_MS / (faults.length + 1);
        for (const [, fault] of faults) {
          await sleep(step * (0.7 + rng.next() * 0.6));
          await fault();
        }
        await sleep(Math.max(0, LOAD_MS - step * faults.length));
        const loadEnded = Date.now();
        const made = await load.stop();
        assert(made.length > 40, `enough calls: ${made.length}`);

        // Drained: every row synced, every call finished in its portal.
        const database = await openDatabase(pg.url, { poolSize: 2 });
        try {
          const finishedIn = (portal: Portal) =>
            portal.records.calls("telephony.externalcall.finish").filter((c) => c.status === 200);
          await waitFor("the sync to drain", async () => {
            const rows = await database.db.select().from(callsTable);
            return rows.length === made.length && rows.every((r) => r.syncState !== "pending") &&
              portals.reduce((n, p) => n + finishedIn(p).length, 0) >= made.length;
          }, { timeoutMs: 150_000, intervalMs: 500 });
          const drainMs = Date.now() - loadEnded;

          const rows = await database.db.select().from(callsTable);
          const portalIds = new Map(
            (await database.db.select().from(portalsTable)).map((p) => [p.memberId, p.id]),
          );
          const rowOf = new Map(
            rows.map((r) => [`${r.portalId}|${r.bitrixUserId}|${r.sipCallId}`, r]),
          );
          assertEquals(rows.length, made.length, "one row per call, none extra");
          assertEquals(
            rows.filter((r) => r.syncState !== "synced").map((r) => r.lastSyncError),
            [],
          );

          let repeatedRegisters = 0;
          for (const portal of portals) {
            const portalId = portalIds.get(portal.memberId)!;
            const mine = made.filter((c) => c.portal === portal);
            const registers = portal.records.calls("telephony.externalcall.register")
              .filter((c) => c.status === 200);
            repeatedRegisters += registers.length -
              new Set(registers.map((c) => c.params.EXTERNAL_CALL_ID)).size;
            const finishes = new Map<string, Record<string, unknown>[]>();
            for (const f of finishedIn(portal)) {
              const id = String(f.params.CALL_ID);
              finishes.set(id, [...(finishes.get(id) ?? []), f.params]);
            }
            for (const call of mine) {
              const row = rowOf.get(`${portalId}|${call.userId}|${call.sipCallId}`);
              assert(row, `${call.sipCallId} is stored`);
              assertEquals(
                [Boolean(row.answeredAt), row.sipStatus, row.durationSec],
                [call.answered, call.sipStatus, call.durationSec],
                call.sipCallId,
              );
              const finished = finishes.get(row.bitrixCallId ?? "") ?? [];
              assertEquals(finished.length, 1, `${call.sipCallId} finished once`);
              assertEquals(
                [String(finished[0].STATUS_CODE), Number(finished[0].DURATION)],
                [call.statusCode, call.answered ? call.durationSec : 0],
                `${call.sipCallId} finished with its outcome`,
              );
            }
            const callIds = new Set(
              mine.map((c) => rowOf.get(`${portalId}|${c.userId}|${c.sipCallId}`)!.bitrixCallId),
            );
            assertEquals(callIds.size, mine.length, "one Bitrix24 call per call");
          }
          // A register cut off by a kill or a database outage after Bitrix24 took it is sent
          // again (and answered with the same call); never more than the attempts in flight.
          assert(repeatedRegisters <= 2 * 8 + 8, `repeated registers: ${repeatedRegisters}`);
          console.log(
            `journal chaos: ${made.length} calls on ${PORTALS} portals, ${load.retries()} retried` +
              ` reports, ${repeatedRegisters} repeated registers, drained ${
                (drainMs / 1000).toFixed(1)
              } s after the load`,
          );
        } finally {
          await database.close();
        }
      } finally {
        await world.close();
      }
    }),
});
