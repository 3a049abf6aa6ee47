/**
 * Why a call ended, in the words its user needs: the engine's end reason and the final SIP
 * status become one {@link CallOutcome}, which the call panel shows for a few seconds with Redial.
 *
 * @module
 */
import type { TextKey } from "../shared/i18n.ts";
import type { CallInfo, ConnectionState } from "./phone/types.ts";

/** What happened to a call, as its user understands it. */
export type CallOutcome =
  /** The far party was on another call (486 Busy Here, 600 Busy Everywhere). */
  | "busy"
  /** The far party declined (603 Decline). */
  | "declined"
  /** No such number (404, 484 Address Incomplete, 604 Does Not Exist Anywhere). */
  | "not-found"
  /** Nobody picked up (408 Request Timeout, 480 Temporarily Unavailable). */
  | "no-answer"
  /** This side cancelled the call before it was answered. */
  | "cancelled"
  /** The browser did not give the phone the microphone. */
  | "mic-blocked"
  /** The PBX was not reachable (transport failure, the WebSocket is down). */
  | "unreachable"
  /** The PBX or the provider could not connect the call now (5xx). */
  | "unavailable"
  /** The PBX does not allow this call (401/403/407). */
  | "forbidden"
  /** Anything else that failed. */
  | "failed"
  /** An answered call this side ended. */
  | "hung-up"
  /** An answered call the far side ended. */
  | "remote-hung-up"
  /** This side declined an incoming call. */
  | "you-declined"
  /** The caller hung up before anyone answered. */
  | "missed"
  /** The call went on to someone else (blind or attended transfer). */
  | "transferred";

/**
 * The outcome a final SIP status of an unanswered outgoing call stands for, or undefined for a
 * status that says nothing particular (then the engine's reason decides).
 */
export function sipStatusOutcome(status: number | undefined): CallOutcome | undefined {
  switch (status) {
    case 486:
    case 600:
      return "busy";
    case 603:
      return "declined";
    case 404:
    case 484:
    case 604:
      return "not-found";
    case 408:
    case 480:
      return "no-answer";
    case 487:
      return "cancelled";
    case 401:
    case 403:
    case 407:
      return "forbidden";
  }
  if (status !== undefined && status >= 500 && status < 600) return "unavailable";
  return undefined;
}

/**
 * The outcome of an ended call. `connection` is the phone's connection when the call ended: a
 * call that failed while the WebSocket is down failed because the PBX is unreachable (SIP.js
 * turns a transport error into a local 503, which alone cannot tell that from a PBX's own).
 */
export function callOutcome(
  call: Pick<CallInfo, "direction" | "answeredAt" | "endReason" | "sipStatus">,
  connection: ConnectionState,
): CallOutcome {
  const answered = call.answeredAt !== undefined;
  // What the engine knows for sure comes first; a refusal is read from its SIP status.
  switch (call.endReason) {
    case "media-denied":
      return "mic-blocked";
    case "transferred":
    case "replaced":
      return "transferred";
    case "local-hangup":
      return answered ? "hung-up" : "cancelled";
    case "cancelled":
      return "cancelled";
    case "remote-hangup":
      return "remote-hung-up";
    case "rejected":
      return "you-declined";
    case "missed":
      return "missed";
  }
  if (connection !== "connected") return "unreachable";
  if (call.endReason === "refused" && call.direction === "outbound") {
    return sipStatusOutcome(call.sipStatus) ?? "failed";
  }
  return "failed";
}

/** The text of each outcome (a sentence for the call panel). */
export const OUTCOME_TEXT: Record<CallOutcome, TextKey> = {
  busy: "endBusy",
  declined: "endDeclined",
  "not-found": "endNotFound",
  "no-answer": "endNoAnswer",
  cancelled: "endCancelled",
  "mic-blocked": "endMicBlocked",
  unreachable: "endUnreachable",
  unavailable: "endUnavailable",
  forbidden: "endForbidden",
  failed: "endFailed",
  "hung-up": "endHungUp",
  "remote-hung-up": "endRemoteHungUp",
  "you-declined": "endYouDeclined",
  missed: "endMissed",
  transferred: "endTransferred",
};

/** The sentence for `outcome` of a call in `direction` (a blocked microphone differs). */
export function outcomeText(outcome: CallOutcome, direction: CallInfo["direction"]): TextKey {
  return outcome === "mic-blocked" && direction === "inbound"
    ? "endMicBlockedIn"
    : OUTCOME_TEXT[outcome];
}

/** Outcomes that are a problem to read about (shown as a warning, not as a normal end). */
export function isProblem(outcome: CallOutcome): boolean {
  return !["hung-up", "remote-hung-up", "you-declined", "transferred", "cancelled"].includes(
    outcome,
  );
}
