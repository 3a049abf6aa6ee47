import { assert, assertEquals } from "../../tests/support/assert.ts";
import { dialPushed, phoneScope, toCallReport, undialledReport } from "./phone_session.ts";
import type { CallInfo, JournalEntry, PhoneSnapshot } from "./phone/client.ts";
import { EmitterImpl } from "./phone/emitter.ts";
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

Deno.test("[phone_session] a pushed dial is placed once per browser, with its CALL_ID, and its claim held until it ends", async () => {
  const stateChange = new EmitterImpl<PhoneSnapshot>();
  const state = { calls: [] as CallInfo[] } as unknown as PhoneSnapshot;
  const placed: [string, string | undefined][] = [];
  const phone = {
    state,
    stateChange,
    call: (number: string, options?: { bitrixCallId?: string }) => {
      placed.push([number, options?.bitrixCallId]);
      const call = {
        id: "c1",
        bitrixCallId: options?.bitrixCallId,
        state: "calling",
      } as unknown as CallInfo;
      state.calls = [call];
      return Promise.resolve(call);
    },
  };
  const held = new Set<string>();
  const claim = (key: string) => {
    if (held.has(key)) return Promise.resolve(undefined);
    held.add(key);
    return Promise.resolve(() => void held.delete(key));
  };
  const dial = { id: 3, type: "dial", data: { callId: "CALL-9", number: "+74957654321" } };
  assertEquals((await dialPushed(phone, dial, claim))?.id, "c1");
  assertEquals(placed, [["+74957654321", "CALL-9"]]);
  assertEquals([...held], ["dial:CALL-9"]);
  // The same message again (another page, a replay): the live call is left alone.
  assertEquals(await dialPushed(phone, dial, claim), undefined);
  // Other messages and malformed dials are not dials.
  assertEquals(await dialPushed(phone, { id: 4, type: "note", data: {} }, claim), undefined);
  assertEquals(await dialPushed(phone, { ...dial, data: { callId: "" } }, claim), undefined);
  assertEquals(placed.length, 1);
  state.calls = [{ ...state.calls[0], state: "ended" } as CallInfo];
  stateChange.emit(state);
  assertEquals(held.size, 0, "released when the call ended");
});

Deno.test("[phone_session] a pushed dial that could not be placed is reported as ended, for its card", () => {
  const dial = { id: 7, type: "dial", data: { callId: "externalCall.9", number: "+74951112233" } };
  const report = undialledReport(dial, { code: "not-registered" });
  assertEquals(report, {
    phase: "end",
    sipCallId: "undialled.externalCall.9",
    sipStatus: 480,
    durationSec: 0,
    call: {
      direction: "outbound",
      number: "+74951112233",
      bitrixCallId: "externalCall.9",
      startedAgoMs: 0,
    },
  });
  assertEquals(callReportSchema.safeParse(report).success, true);
  assertEquals(undialledReport(dial, { sipStatus: 403 })?.phase, "end");
  assertEquals(
    (undialledReport(dial, { sipStatus: 403 }) as { sipStatus: number }).sipStatus,
    403,
  );
  assertEquals(undialledReport({ ...dial, type: "other" }, new Error("x")), undefined);
});
