import { assertEquals } from "../../tests/support/assert.ts";
import { t } from "../shared/i18n.ts";
import {
  callOutcome,
  isProblem,
  OUTCOME_TEXT,
  outcomeText,
  sipStatusOutcome,
} from "./call_outcome.ts";
import type { CallInfo } from "./phone/types.ts";

const refused = (sipStatus: number): Pick<CallInfo, "direction" | "endReason" | "sipStatus"> => ({
  direction: "outbound",
  endReason: "refused",
  sipStatus,
});

Deno.test("[call_outcome] SIP statuses of a refused outgoing call", () => {
  const table: [number, string][] = [
    [486, "busy"],
    [600, "busy"],
    [603, "declined"],
    [404, "not-found"],
    [484, "not-found"],
    [604, "not-found"],
    [408, "no-answer"],
    [480, "no-answer"],
    [487, "cancelled"],
    [403, "forbidden"],
    [503, "unavailable"],
    [502, "unavailable"],
    [415, "failed"],
  ];
  for (const [status, outcome] of table) {
    assertEquals(callOutcome(refused(status), "connected"), outcome, `SIP ${status}`);
  }
  assertEquals(sipStatusOutcome(undefined), undefined);
  assertEquals(sipStatusOutcome(200), undefined);
});

Deno.test("[call_outcome] a failure while the PBX connection is down reads as unreachable", () => {
  // SIP.js turns a transport error into a local 503.
  assertEquals(callOutcome(refused(503), "disconnected"), "unreachable");
  assertEquals(callOutcome(refused(408), "connecting"), "unreachable");
  assertEquals(
    callOutcome({ direction: "outbound", endReason: "failed", sipStatus: 500 }, "connected"),
    "failed",
  );
  assertEquals(
    callOutcome({ direction: "outbound", endReason: "failed", sipStatus: 500 }, "disconnected"),
    "unreachable",
  );
});

Deno.test("[call_outcome] what the engine knows wins over the status", () => {
  const out = { direction: "outbound" as const };
  assertEquals(
    callOutcome({ ...out, endReason: "media-denied", sipStatus: 488 }, "connected"),
    "mic-blocked",
  );
  // Our CANCEL makes the far end answer 487: that is our own cancel, not a refusal.
  assertEquals(
    callOutcome({ ...out, endReason: "cancelled", sipStatus: 487 }, "connected"),
    "cancelled",
  );
  assertEquals(
    callOutcome({ ...out, endReason: "local-hangup", answeredAt: 1 }, "connected"),
    "hung-up",
  );
  assertEquals(
    callOutcome({ ...out, endReason: "remote-hangup", answeredAt: 1 }, "connected"),
    "remote-hung-up",
  );
  assertEquals(
    callOutcome({ ...out, endReason: "transferred", answeredAt: 1 }, "connected"),
    "transferred",
  );
  const inbound = { direction: "inbound" as const };
  assertEquals(
    callOutcome({ ...inbound, endReason: "missed", sipStatus: 487 }, "connected"),
    "missed",
  );
  assertEquals(
    callOutcome({ ...inbound, endReason: "rejected", sipStatus: 603 }, "connected"),
    "you-declined",
  );
  // A dropped WebSocket during an answered call still says the far side did not hang up.
  assertEquals(
    callOutcome({ ...inbound, endReason: "remote-hangup", answeredAt: 1 }, "disconnected"),
    "remote-hung-up",
  );
});

Deno.test("[call_outcome] every outcome has a text in both languages; problems are marked", () => {
  for (const [outcome, key] of Object.entries(OUTCOME_TEXT)) {
    for (const lang of ["ru", "en"] as const) {
      assertEquals(typeof t(lang, key), "string", `${lang} ${outcome}`);
      assertEquals(t(lang, key).length > 5, true, `${lang} ${outcome}`);
    }
  }
  assertEquals(isProblem("busy"), true);
  assertEquals(isProblem("mic-blocked"), true);
  assertEquals(isProblem("hung-up"), false);
});

Deno.test("[call_outcome] a blocked microphone reads differently on an incoming call", () => {
  assertEquals(outcomeText("mic-blocked", "outbound"), "endMicBlocked");
  assertEquals(outcomeText("mic-blocked", "inbound"), "endMicBlockedIn");
  assertEquals(outcomeText("busy", "inbound"), "endBusy");
});
