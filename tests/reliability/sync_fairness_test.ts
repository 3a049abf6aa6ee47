/**
 * Fair sync (issue 14 item 2): one portal hangs (every REST request held open) with a backlog
 * of due calls, while four healthy portals (Bitrix24's own rate limit) have calls whose first
 * attempt failed and that are retried a second later. The loop serves portals side by side and
 * never waits inside one portal's limiter or hanging requests while others have work, so every
 * healthy portal's retried call is synced within 10 s of becoming due.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startTestApp } from "../support/app.ts";
import { frameClient, TEST_BITRIX_TIMINGS } from "../support/bitrix.ts";
import { startPostgresIfInstalled } from "../support/postgres.ts";
import { freePort } from "../support/ports.ts";
import { type Portal, startPortal } from "../../dev/portal/mod.ts";
import { calls as callsTable } from "../../lib/server/db/schema.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { waitFor } from "../support/wait.ts";
import { pool } from "./support.ts";

/** Five portals in all: one client may have five installations checked at once. */
const HEALTHY = 4;
const BACKLOG = 60;
/** Seeded employees: the backlog is spread over them (each may start 30 calls a minute). */
const USERS = [2, 3, 4];
const RETRIED_PER_PORTAL = 6;

Deno.test({
  name: "[reliability] a hanging portal's backlog never delays healthy portals' retried calls",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async () => {
      await using pg = await startPostgresIfInstalled();
      const port = freePort();
      const appUrl = `http://127.0.0.1:${port}`;
      const portals: Portal[] = [];
      for (let i = 0; i <= HEALTHY; i++) {
        portals.push(await startPortal({ app: { type: "local" }, appUrl: `${appUrl}/` }));
      }
      const [bad, ...healthy] = portals;
      let closeApp = () => Promise.resolve();
      try {
        const app = await startTestApp({
          PORT: String(port),
          APP_BASE_URL: appUrl,
          BITRIX_OAUTH_URL: bad.tokenUrl,
          ENCRYPTION_KEY: generateKey(),
          ...(pg ? { DATABASE_URL: pg.url } : {}),
        }, { bitrix: { ...TEST_BITRIX_TIMINGS, syncBackoffMs: () => 1000, syncLeaseMs: 3000 } });
        closeApp = () => app.close();
        const frames = new Map(portals.map((p) => [p, frameClient(p, appUrl)]));
        for (const portal of portals) {
          assertEquals((await frames.get(portal)!.install()).status, 200);
        }
        const report = async (portal: Portal, userId: number, body: Record<string, unknown>) => {
          const res = await frames.get(portal)!.calls(userId, { body });
          assertEquals(res.status, 200);
          await res.body?.cancel();
        };
        const call = async (portal: Portal, sipCallId: string, userId = 2) => {
          const start = { phase: "start", sipCallId, direction: "inbound", number: "+7495" };
          await report(portal, userId, start);
          await report(portal, userId, { phase: "end", sipCallId, sipStatus: 487, durationSec: 0 });
        };

        // The phones' pages load first (their frame tokens are checked with the portal then).
        for (const portal of portals) {
          for (const userId of USERS) {
            const me = await frames.get(portal)!.widget(userId, { event: "GETME" });
            assertEquals(me.status, 200);
            await me.body?.cancel();
          }
        }

        // The bad portal hangs with a backlog; the loop runs.
        bad.setFault({ kind: "timeout" });
        const backlog = Array.from({ length: BACKLOG }, (_, i) => `backlog-${i}@pbx`);
        await pool(backlog, 8, (id, i) => call(bad, id, USERS[i % USERS.length]));
        const sync = app.services.bitrix.callSync;
        sync.start(200);

        // The healthy portals' calls fail once (503) and are due again a second later.
        for (const portal of healthy) portal.setFault({ kind: "503", times: RETRIED_PER_PORTAL });
        const retried = healthy.flatMap((portal, p) =>
          Array.from({ length: RETRIED_PER_PORTAL }, (_, i) => ({ portal, id: `ok-${p}-${i}@pbx` }))
        );
        await pool(retried, 4, ({ portal, id }) => call(portal, id));

        const db = app.services.database.db;
        const healthyRows = async () =>
          (await db.select().from(callsTable)).filter((r) => r.sipCallId.startsWith("ok-"));
        await waitFor(
          "every healthy call synced",
          async () => (await healthyRows()).every((r) => r.syncState === "synced"),
          {
            timeoutMs: 30_000,
            intervalMs: 100,
          },
        );
        const rows = await healthyRows();
        assertEquals(rows.length, retried.length);
        const retriedRows = rows.filter((r) => r.syncAttempts > 0);
        assert(retriedRows.length > 0, "some calls were retried");
        // Synced (updated) within 10 s of becoming due (their failed attempt + the backoff).
        const latest = Math.max(
          ...retriedRows.map((r) => r.updatedAt.getTime() - r.nextSyncAt.getTime()),
        );
        assert(latest < 10_000, `a retried call waited ${latest} ms after it was due`);
        const stillWaiting = (await db.select().from(callsTable))
          .filter((r) => r.sipCallId.startsWith("backlog-") && r.syncState === "pending");
        assert(stillWaiting.length > BACKLOG / 2, "the hanging portal's backlog is still there");
      } finally {
        // The portals first: that answers the held requests, which the app's close waits for.
        for (const portal of portals) await portal.close();
        await closeApp();
      }
    }),
});
