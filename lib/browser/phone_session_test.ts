import { assert, assertEquals } from "../../tests/support/assert.ts";
import { phoneScope, toCallReport } from "./phone_session.ts";
import type { JournalEntry } from "./phone/client.ts";
import { callReportSchema } from "../shared/api/calls.ts";

const entry = (phase: JournalEntry["phase"], extra: Partial<JournalEntry> = {}): JournalEntry => ({
  entryId: "e1",
  phase,
  sipCallId: "abc@pbx",
  callId: "c1",
  direction: "outbound",
  number: "101",
  at: 0,
  callStartedAt: 0,
  ...extra,
});

Deno.test("[phone_session] every report dates its event by its age and carries what stores the call", () => {
  const at = { callStartedAt: 1_000, bitrixCallId: "CALL-1" };
  const now = 61_000;
  const reports = [
    toCallReport(entry("start", { ...at, at: 1_000 }), now),
    toCallReport(entry("answer", { ...at, at: 6_000 }), now),
    toCallReport(entry("end", { ...at, at: 48_000, sipStatus: 200, durationSec: 42 }), now),
  ];
  const call = {
    direction: "outbound",
    number: "101",
    bitrixCallId: "CALL-1",
    startedAgoMs: 60_000,
  };
  assertEquals(reports, [
    {
      phase: "start",
      sipCallId: "abc@pbx",
      direction: "outbound",
      number: "101",
      bitrixCallId: "CALL-1",
      agoMs: 60_000,
    },
    { phase: "answer", sipCallId: "abc@pbx", agoMs: 55_000, call },
    { phase: "end", sipCallId: "abc@pbx", sipStatus: 200, durationSec: 42, agoMs: 13_000, call },
  ]);
  for (const report of reports) assertEquals(callReportSchema.safeParse(report).success, true);
});

Deno.test("[phone_session] an end without a status reads as cancelled, never answered", () => {
  const report = toCallReport(entry("end"), 0);
  assertEquals([report.phase, "sipStatus" in report && report.sipStatus], ["end", 487]);
  assertEquals("durationSec" in report && report.durationSec, 0);
});

Deno.test("[phone_session] each portal and user has a phone scope of their own, naming neither", async () => {
  const memberA = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  const memberB = "aabbccddeeff00112233445566778899";
  const scopes = await Promise.all([
    phoneScope(memberA, 2),
    phoneScope(memberB, 2), // the same user id on another portal
    phoneScope(memberA, 3), // another user of the same portal
  ]);
  assertEquals(new Set(scopes).size, 3);
  assertEquals(scopes[0], await phoneScope(memberA, 2), "every page of the user finds it");
  for (const scope of scopes) assert(!scope.includes(memberA) && !scope.includes(memberB));
});
