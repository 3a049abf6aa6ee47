/**
 * What Bitrix24 receives is the call's final truth, whatever order the phone's reports arrive
 * in and whatever happened to an earlier sync attempt (issue 20), through HTTP against the
 * portal emulator, on PGlite:
 *
 * - an end (or answer) whose start never arrived stores the call from the facts it carries;
 *   the late start and answer change nothing; Bitrix24 gets one register and one finish with
 *   the answered status and talk time;
 * - a finish Bitrix24 already holds (the app died before storing that it was sent) is found
 *   in the call statistics and counts as done, not failed;
 * - a call whose phone vanished mid-call is closed after four hours, with a reason, in the
 *   database and in Bitrix24;
 * - a claim its owner no longer renews (a crashed instance) is taken over once it lapses.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "./support/bitrix.ts";
import { withCapturedLogs } from "./support/logs.ts";
import { readJson } from "./support/http.ts";
import { sleep } from "./support/wait.ts";
import { eq } from "drizzle-orm";
import { calls as callsTable } from "../lib/server/db/schema.ts";
import { undialledReport } from "../lib/browser/phone_session.ts";

const ANNA = 2;
const options = { sanitizeResources: false, sanitizeOps: false };

function journalTest(name: string, fn: (h: BitrixHarness) => Promise<void>): void {
  Deno.test({
    name: `[journal] ${name}`,
    ...options,
    fn: () =>
      withCapturedLogs(async () => {
        await using h = await startBitrixHarness({ portal: { rateLimit: false } });
        assertEquals((await h.install()).status, 200);
        await fn(h);
      }),
  });
}

const facts = { direction: "inbound", number: "+74951112233", startedAgoMs: 60_000 };

journalTest("reports in any order store the call once, with its final outcome", async (h) => {
  const sipCallId = "late-start@pbx";
  const end = await readJson(
    await h.calls(ANNA, {
      body: { phase: "end", sipCallId, sipStatus: 200, durationSec: 42, agoMs: 1000, call: facts },
    }),
  );
  assertEquals(end.status, 200);
  assert(end.body.call.answeredAt && end.body.call.endedAt, "answered and ended");
  const talk = Date.parse(end.body.call.endedAt) - Date.parse(end.body.call.answeredAt);
  assertEquals(talk, 42_000);
  const started = Date.now() - Date.parse(end.body.call.startedAt);
  assert(started >= 60_000 && started < 70_000, `dated by its age: ${started} ms ago`);
  // The start and the answer arrive late, after their retries.
  const start = { phase: "start", sipCallId, direction: "inbound", number: "+74951112233" };
  assertEquals((await h.calls(ANNA, { body: start })).status, 200);
  const answer = { phase: "answer", sipCallId, agoMs: 40_000, call: facts };
  assertEquals((await h.calls(ANNA, { body: answer })).status, 200);
  assertEquals((await h.synced(ANNA, sipCallId))?.syncState, "synced");
  const registers = h.portal.records.calls("telephony.externalcall.register");
  assertEquals(registers.map((c) => c.params.EXTERNAL_CALL_ID), [sipCallId]);
  const finishes = h.portal.records.calls("telephony.externalcall.finish");
  assertEquals(
    finishes.map((c) => [String(c.params.STATUS_CODE), String(c.params.DURATION)]),
    [["200", "42"]],
  );
  // An old phone's answer without the call's facts, of a call never stored: nothing to do.
  const unknown = await h.calls(ANNA, { body: { phase: "answer", sipCallId: "never@pbx" } });
  assertEquals(unknown.status, 404);
  await unknown.body?.cancel();
});

journalTest("a finish Bitrix24 already holds counts as done", async (h) => {
  const sipCallId = "finished-before-crash@pbx";
  const start = { phase: "start", sipCallId, direction: "outbound", number: "+74951112233" };
  assertEquals((await h.calls(ANNA, { body: start })).status, 200);
  const end = { phase: "end", sipCallId, sipStatus: 486, durationSec: 0 };
  assertEquals((await h.calls(ANNA, { body: end })).status, 200);
  const synced = await h.synced(ANNA, sipCallId);
  assertEquals(synced?.syncState, "synced");
  // The app died after Bitrix24 took the finish and before it stored that.
  const { db } = h.app.services.database;
  await db.update(callsTable).set({ syncState: "pending", finishedInBitrix: false })
    .where(eq(callsTable.id, synced!.id));
  assertEquals(await h.app.services.bitrix.callSync.runOnce(), 1);
  const [row] = await db.select().from(callsTable).where(eq(callsTable.id, synced!.id));
  assertEquals([row.syncState, row.finishedInBitrix, row.lastSyncError], ["synced", true, null]);
  const finishes = h.portal.records.calls("telephony.externalcall.finish");
  assertEquals(finishes.map((c) => c.status), [200, 400], "the second finish was refused");
  const stats = h.portal.records.calls("voximplant.statistic.get");
  assertEquals(stats.map((c) => c.status), [200]);
});

journalTest("a call whose phone vanished mid-call is closed after four hours", async (h) => {
  const sipCallId = "vanished@pbx";
  const start = { phase: "start", sipCallId, direction: "inbound", number: "+74951112233" };
  assertEquals((await h.calls(ANNA, { body: start })).status, 200);
  const answer = { phase: "answer", sipCallId };
  assertEquals((await h.calls(ANNA, { body: answer })).status, 200);
  await h.synced(ANNA, sipCallId);
  const { db } = h.app.services.database;
  const { callSync } = h.app.services.bitrix;
  await callSync.runOnce();
  assertEquals(h.portal.records.calls("telephony.externalcall.finish").length, 0, "still live");
  await db.update(callsTable).set({ startedAt: new Date(Date.now() - 4 * 3600_000 - 1000) })
    .where(eq(callsTable.sipCallId, sipCallId));
  await callSync.runOnce();
  const closed = await h.synced(ANNA, sipCallId);
  assertEquals([closed?.syncState, closed?.sipStatus], ["synced", 200]);
  assert(closed?.failedReason?.includes("4 hours"), closed?.failedReason ?? "no reason");
  const [finish] = h.portal.records.calls("telephony.externalcall.finish");
  assertEquals(String(finish.params.STATUS_CODE), "200");
  assert(String(finish.params.FAILED_REASON).includes("4 hours"));
});

journalTest("a claim nobody renews is taken over once it lapses", async (h) => {
  const sipCallId = "orphaned@pbx";
  const { calls, bitrix } = h.app.services;
  h.portal.setFault({ method: "telephony.externalcall.register", kind: "503", times: 1 });
  const start = { phase: "start", sipCallId, direction: "outbound", number: "+74951112233" };
  assertEquals((await h.calls(ANNA, { body: start })).status, 200);
  await bitrix.callSync.settled();
  // Another instance claims the row and dies holding it (its lease: 300 ms).
  const [orphan] = await calls.claimDue(10, 300);
  assertEquals(orphan?.sipCallId, sipCallId);
  assertEquals(await bitrix.callSync.runOnce(), 0, "a live claim is respected");
  await sleep(350);
  assertEquals(await bitrix.callSync.runOnce(), 1, "taken over");
  const row = await h.synced(ANNA, sipCallId);
  assertEquals([row?.syncState, row?.bitrixCallId?.startsWith("externalCall.")], ["synced", true]);
  // The dead owner's late writes change nothing.
  await calls.markFailed(orphan, "late write of a dead instance");
  assertEquals((await h.synced(ANNA, sipCallId))?.syncState, "synced");
});

journalTest(
  "a pushed dial the phone could not place finishes Bitrix24's call at once",
  async (h) => {
    const { callId } = await h.portal.clickToCall({ userId: ANNA, phoneNumber: "+74951112233" });
    const report = undialledReport(
      { id: 1, type: "dial", data: { callId, number: "+74951112233" } },
      { code: "not-registered" },
    );
    assertEquals((await h.calls(ANNA, { body: report })).status, 200);
    const row = await h.synced(ANNA, `undialled.${callId}`);
    assertEquals([row?.bitrixCallId, row?.syncState, row?.sipStatus], [callId, "synced", 480]);
    const finishes = h.portal.records.calls("telephony.externalcall.finish");
    assertEquals(finishes.map((c) => [c.params.CALL_ID, String(c.params.STATUS_CODE)]), [
      [callId, "480"],
    ]);
    assertEquals(h.portal.records.calls("telephony.externalcall.register").length, 0);
  },
);
