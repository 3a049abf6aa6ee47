import { assertEquals } from "../../tests/support/assert.ts";
import { keyAction, type KeyTarget } from "./phone_keys.ts";
import type { CallState } from "./phone/call_state.ts";

const press = (key: string, target: KeyTarget = "page", modified = false) => ({
  key,
  target,
  modified,
});
const call = (id: string, state: `${CallState}`) => ({ id, state: state as CallState });

Deno.test("[phone_keys] idle: digits anywhere go to the number field, Enter dials", () => {
  assertEquals(keyAction(press("5"), []), { kind: "append", key: "5" });
  assertEquals(keyAction(press("+"), []), { kind: "append", key: "+" });
  assertEquals(keyAction(press("#", "control"), []), { kind: "append", key: "#" });
  assertEquals(keyAction(press("Backspace"), []), { kind: "backspace" });
  assertEquals(keyAction(press("Enter"), []), { kind: "dial" });
  // The field types itself; buttons keep Enter; other fields keep every key.
  assertEquals(keyAction(press("5", "number"), []), { kind: "none" });
  assertEquals(keyAction(press("Enter", "number"), []), { kind: "dial" });
  assertEquals(keyAction(press("Enter", "control"), []), { kind: "none" });
  assertEquals(keyAction(press("5", "field"), []), { kind: "none" });
  assertEquals(keyAction(press("Escape"), []), { kind: "none" });
  assertEquals(keyAction(press("a"), []), { kind: "none" });
  // Ctrl+1 switches browser tabs.
  assertEquals(keyAction(press("1", "page", true), []), { kind: "none" });
});

Deno.test("[phone_keys] an incoming call: Enter answers, Esc declines, even from the field", () => {
  const calls = [call("c1", "incoming")];
  assertEquals(keyAction(press("Enter"), calls), { kind: "answer", callId: "c1" });
  assertEquals(keyAction(press("Enter", "number"), calls), { kind: "answer", callId: "c1" });
  assertEquals(keyAction(press("Escape", "number"), calls), { kind: "decline", callId: "c1" });
  assertEquals(keyAction(press("Escape", "field"), calls), { kind: "none" });
});

Deno.test("[phone_keys] during a call digits send DTMF and Esc hangs up", () => {
  const calls = [call("c1", "connected")];
  assertEquals(keyAction(press("7"), calls), { kind: "dtmf", callId: "c1", key: "7" });
  assertEquals(keyAction(press("#", "control"), calls), { kind: "dtmf", callId: "c1", key: "#" });
  // "+" is no tone: it still goes to the number field.
  assertEquals(keyAction(press("+"), calls), { kind: "append", key: "+" });
  assertEquals(keyAction(press("7", "number"), calls), { kind: "none" });
  assertEquals(keyAction(press("Escape"), calls), { kind: "hangup", callId: "c1" });
  assertEquals(keyAction(press("Escape"), [call("c2", "ringing")]), {
    kind: "hangup",
    callId: "c2",
  });
  // A waiting call is declined before the current one is touched.
  assertEquals(keyAction(press("Escape"), [call("c1", "connected"), call("c2", "incoming")]), {
    kind: "decline",
    callId: "c2",
  });
  // A held call hears no tones; Esc still ends it.
  assertEquals(keyAction(press("1"), [call("c1", "held")]), { kind: "append", key: "1" });
  assertEquals(keyAction(press("Escape"), [call("c1", "held")]), { kind: "hangup", callId: "c1" });
});
