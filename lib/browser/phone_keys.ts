/**
 * The phone's keyboard: what a key press on the phone page does, decided from the key, where
 * the focus is and the calls there are. The island listens on the document and performs the
 * action; this module is pure so the rules are tested without a browser.
 *
 * - Digits, `*`, `#` and `+` typed anywhere (outside another text field) go to the number
 *   field; Backspace there removes the last one.
 * - During a connected call digits outside the number field send DTMF instead.
 * - Enter answers an incoming call, or dials the number in the field.
 * - Esc declines an incoming call, or hangs up the current one.
 *
 * @module
 */
import type { CallInfo } from "./phone/types.ts";

/** Where the key was pressed. */
export type KeyTarget =
  /** The number field. */
  | "number"
  /** Another text field or a select (it keeps its keys). */
  | "field"
  /** A button or link (Enter and Space activate it). */
  | "control"
  /** Anywhere else on the page. */
  | "page";

/** What a key press does. */
export type KeyAction =
  | { kind: "none" }
  | { kind: "append"; key: string }
  | { kind: "backspace" }
  | { kind: "dial" }
  | { kind: "dtmf"; callId: string; key: string }
  | { kind: "answer"; callId: string }
  | { kind: "decline"; callId: string }
  | { kind: "hangup"; callId: string };

/** The key press as far as the phone cares. */
export interface KeyPress {
  key: string;
  target: KeyTarget;
  /** Ctrl, Alt or Meta held: a browser or system shortcut, never ours. */
  modified: boolean;
}

const DIAL_KEY = /^[0-9*#+]$/;
const DTMF_KEY = /^[0-9*#]$/;

/** The action of `press` given the live `calls` (ended ones are ignored). */
export function keyAction(
  press: KeyPress,
  calls: readonly Pick<CallInfo, "id" | "state">[],
): KeyAction {
  const none: KeyAction = { kind: "none" };
  if (press.modified || press.target === "field") return none;
  const incoming = calls.find((c) => c.state === "incoming");
  const talking = calls.find((c) => c.state === "connected");
  const current = talking ??
    calls.find((c) => ["held", "dialing", "ringing", "connecting"].includes(c.state));
  const { key, target } = press;
  if (key === "Escape") {
    if (incoming) return { kind: "decline", callId: incoming.id };
    if (current) return { kind: "hangup", callId: current.id };
    return none;
  }
  if (key === "Enter") {
    if (target === "control") return none;
    if (incoming) return { kind: "answer", callId: incoming.id };
    // From the field too (instead of the form's submit): while offline the Call button is
    // disabled, and a dial then still says why nothing happens.
    return { kind: "dial" };
  }
  if (target === "number") return none; // the field takes its own typing
  if (talking && DTMF_KEY.test(key)) return { kind: "dtmf", callId: talking.id, key };
  if (DIAL_KEY.test(key)) return { kind: "append", key };
  if (key === "Backspace" && target === "page") return { kind: "backspace" };
  return none;
}
