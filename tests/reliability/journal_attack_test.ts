/**
 * Abuse of the call journal by employees (issue 19 item 5), through HTTP against the emulated
 * portal, on real PostgreSQL and on PGlite:
 *
 * - a start naming another user's Bitrix24 CALL_ID (a colleague's click-to-call) is refused
 *   with 404 JSON and changes nothing; that colleague's dial still finishes the card once;
 * - a SIP Call-ID claimed first by a colleague blocks nobody: each user's leg is its own row,
 *   registered and finished in Bitrix24 once, for its own user;
 * - a flood of reports from one user gets 429 past the live-call and starts-a-minute limits and
 *   stores nothing more, while another user's call syncs at once and takes its turn in the sync
 *   loop ahead of the flood's backlog.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "../support/bitrix.ts";
import { noPostgres, startPostgres } from "../support/postgres.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { readJson } from "../support/http.ts";
import { snapshotDatabase } from "./support.ts";
import { REPORT_LIMITS } from "../../lib/server/call_journal.ts";
import { calls as callsTable } from "../../lib/server/db/schema.ts";
import type { CallReportAnswer } from "../../lib/shared/api/calls.ts";

const ADMIN = 1;
const ANNA = 2;
const BORIS = 3;

const ENGINES = [
  { name: "postgres", ignore: noPostgres },
  { name: "pglite", ignore: false },
] as const;

/** Registers `fn` once per database engine, with the app installed on a fresh emulated portal. */
function journalTest(name: string, fn: (h: BitrixHarness) => Promise<void>): void {
  for (const engine of ENGINES) {
    Deno.test({
      name: `[reliability] ${name} [${engine.name}]`,
      ignore: engine.ignore,
      sanitizeResources: false,
      sanitizeOps: false,
      fn: () =>
        withCapturedLogs(async () => {
          await using pg = engine.name === "postgres" ? await startPostgres() : undefined;
          await using h = await startBitrixHarness({
            databaseUrl: pg?.url,
            portal: { rateLimit: false },
          });
          assertEquals((await h.install()).status, 200);
          await fn(h);
        }),
    });
  }
}

/** POSTs one report as `userId`; the status and the JSON answer. */
async function report(h: BitrixHarness, userId: number, body: Record<string, unknown>) {
  return await readJson<CallReportAnswer & { error?: { code: string } }>(
    await h.calls(userId, { body }),
  );
}

function start(sipCallId: string, extra: Record<string, unknown> = {}) {
  return { phase: "start", sipCallId, direction: "outbound", number: "+74951112233", ...extra };
}

function end(sipCallId: string) {
  return { phase: "end", sipCallId, sipStatus: 200, durationSec: 5 };
}

/** The Bitrix24 calls the app made of `method`, as [USER_ID, one named parameter]. */
function recorded(h: BitrixHarness, method: string, param: string) {
  return h.portal.records.calls(method).map((c) => [Number(c.params.USER_ID), c.params[param]]);
}

journalTest("a start with another user's Bitrix24 CALL_ID is refused", async (h) => {
  const { callId } = await h.portal.clickToCall({ userId: ADMIN, phoneNumber: "+74951112233" });
  const before = await snapshotDatabase(h.app.services.database);
  const stolen = await report(h, ANNA, start("steal@pbx", { bitrixCallId: callId }));
  assertEquals([stolen.status, stolen.body.error?.code], [404, "not_found"]);
  assertEquals(await snapshotDatabase(h.app.services.database), before, "nothing changed");
  // The reserved prefix of the journal's own click-to-call rows is no SIP Call-ID.
  const placeholder = await report(h, ANNA, start(`bitrix24:${callId}`));
  assertEquals([placeholder.status, placeholder.body.error?.code], [400, "bad_request"]);
  assertEquals(await snapshotDatabase(h.app.services.database), before, "nothing changed");

  // The card's owner dials it and ends it: Bitrix24's call is finished once, for them.
  const own = await report(h, ADMIN, start("own@pbx", { bitrixCallId: callId }));
  assertEquals([own.status, own.body.call.bitrixCallId], [200, callId]);
  assertEquals((await report(h, ADMIN, end("own@pbx"))).status, 200);
  assertEquals((await h.synced(ADMIN, "own@pbx"))?.syncState, "synced");
  assertEquals(recorded(h, "telephony.externalcall.finish", "CALL_ID"), [[ADMIN, callId]]);
  assertEquals(h.portal.records.calls("telephony.externalcall.register").length, 0);
});

journalTest("a colleague's SIP Call-ID claimed first blocks nobody", async (h) => {
  // An internal call through a proxy PBX: both legs carry one SIP Call-ID, and Anna reports it
  // (or claims it on purpose) before the admin's phone does.
  const first = await report(h, ANNA, { ...start("shared@pbx"), direction: "inbound" });
  const second = await report(h, ADMIN, start("shared@pbx"));
  assertEquals([first.status, second.status], [200, 200]);
  assert(first.body.call.id !== second.body.call.id, "two rows");
  for (const userId of [ADMIN, ANNA]) {
    const ended = await report(h, userId, end("shared@pbx"));
    assertEquals(ended.body.call.userId, userId);
    assertEquals((await h.synced(userId, "shared@pbx"))?.syncState, "synced");
  }
  const rows = await h.app.services.database.db.select().from(callsTable);
  assertEquals(rows.map((r) => r.bitrixUserId).sort(), [ADMIN, ANNA]);
  const registered = recorded(h, "telephony.externalcall.register", "EXTERNAL_CALL_ID");
  assertEquals(registered.sort(), [[ADMIN, "shared@pbx"], [ANNA, "shared@pbx"]]);
  const finished = recorded(h, "telephony.externalcall.finish", "CALL_ID");
  assertEquals(finished.map(([userId]) => userId).sort(), [ADMIN, ANNA]);
  assertEquals(
    finished.map(([, callId]) => callId).sort(),
    rows.map((r) => r.bitrixCallId).sort(),
    "each leg finished its own Bitrix24 call",
  );
});

journalTest("a flood of live calls from one user gets 429", async (h) => {
  for (let i = 0; i < REPORT_LIMITS.liveCalls; i++) {
    assertEquals((await report(h, ANNA, start(`live-${i}@pbx`))).status, 200);
  }
  await h.app.services.bitrix.callSync.settled();
  const before = await snapshotDatabase(h.app.services.database);
  const over = await report(h, ANNA, start("one-more@pbx"));
  assertEquals([over.status, over.body.error?.code], [429, "rate_limited"]);
  assertEquals(await snapshotDatabase(h.app.services.database), before, "nothing stored");
  // A retry of a stored start, and the reports of the live calls, still go through.
  assertEquals((await report(h, ANNA, start("live-0@pbx"))).status, 200);
  assertEquals((await report(h, ANNA, { phase: "answer", sipCallId: "live-1@pbx" })).status, 200);
  assertEquals((await report(h, ANNA, end("live-2@pbx"))).status, 200);
  // Another user is not limited by Anna's calls, and their call reaches Bitrix24 at once.
  const other = await report(h, BORIS, start("boris@pbx"));
  assertEquals(other.status, 200);
  assertEquals((await h.synced(BORIS, "boris@pbx"))?.syncState, "synced");
  const registered = recorded(h, "telephony.externalcall.register", "EXTERNAL_CALL_ID");
  assert(!registered.some(([, id]) => id === "one-more@pbx"), "no lead for the refused start");
  assert(registered.some(([userId]) => userId === BORIS));
});

journalTest("starts a minute are limited per user", async (h) => {
  for (let i = 0; i < REPORT_LIMITS.startsPerMinute; i++) {
    assertEquals((await report(h, ANNA, start(`short-${i}@pbx`))).status, 200);
    assertEquals((await report(h, ANNA, end(`short-${i}@pbx`))).status, 200);
  }
  const over = await report(h, ANNA, start("one-more@pbx"));
  assertEquals([over.status, over.body.error?.code], [429, "rate_limited"]);
  await h.app.services.bitrix.callSync.settled();
  assertEquals(
    h.portal.records.calls("telephony.externalcall.register").length,
    REPORT_LIMITS.startsPerMinute,
    "no lead for the refused start",
  );
  assertEquals((await report(h, BORIS, start("boris@pbx"))).status, 200);
});

journalTest("another user's call takes its turn ahead of a flood's backlog", async (h) => {
  // Bitrix24 refuses for a while: Anna's flood and then Boris's call all wait in the queue.
  h.portal.setFault({ method: "telephony.externalcall.register", kind: "query_limit" });
  for (let i = 0; i < REPORT_LIMITS.liveCalls; i++) {
    assertEquals((await report(h, ANNA, start(`backlog-${i}@pbx`))).status, 200);
  }
  assertEquals((await report(h, BORIS, start("boris@pbx"))).status, 200);
  assertEquals((await h.synced(BORIS, "boris@pbx"))?.syncState, "pending");
  h.portal.clearFaults();
  const refused = h.portal.records.calls("telephony.externalcall.register").length;
  // One pass of the sync loop with room for three rows: Boris's is among them.
  assertEquals(await h.app.services.bitrix.callSync.runOnce(3), 3);
  const registered = recorded(h, "telephony.externalcall.register", "EXTERNAL_CALL_ID")
    .slice(refused);
  assert(
    registered.some(([userId]) => userId === BORIS),
    `Boris waited behind Anna's backlog: ${JSON.stringify(registered)}`,
  );
});
