/**
 * Call state machine.
 *
 * ```
 *   outbound:  Dialing ──180/183──▶ Ringing ──200──▶ Connected ◀──hold(), unhold──▶ Held
 *              Dialing ──200──▶ Connected
 *   inbound:   Incoming ──answer()──▶ Connecting ──ACK / 200──▶ Connected
 *              Dialing, Ringing ──allowed; outbound calls go to Connected──▶ Connecting
 *   Dialing, Ringing, Incoming ──hangup(), reject(), cancel──▶ Ending
 *   Connecting, Connected, Held ──hangup()──▶ Ending ──final response, BYE answered──▶ Ended
 *   Dialing, Ringing, Incoming ──remote CANCEL, failure response──▶ Ended
 *   Connecting, Connected, Held ──remote BYE, failure, lost media──▶ Ended
 * ```
 *
 * Ended is final. Every other edge is refused by the guarded machine.
 *
 * @module
 */
import type { Edges } from "./state_machine.ts";

/** Call states. */
export enum CallState {
  Dialing = "dialing",
  Ringing = "ringing",
  Incoming = "incoming",
  Connecting = "connecting",
  Connected = "connected",
  Held = "held",
  Ending = "ending",
  Ended = "ended",
}

/** Allowed call transitions (the diagram above). */
export const CALL_EDGES: Edges<CallState> = {
  [CallState.Dialing]: [
    CallState.Ringing,
    CallState.Connecting,
    CallState.Connected,
    CallState.Ending,
    CallState.Ended,
  ],
  [CallState.Ringing]: [
    CallState.Connecting,
    CallState.Connected,
    CallState.Ending,
    CallState.Ended,
  ],
  [CallState.Incoming]: [CallState.Connecting, CallState.Ending, CallState.Ended],
  [CallState.Connecting]: [CallState.Connected, CallState.Ending, CallState.Ended],
  [CallState.Connected]: [CallState.Held, CallState.Ending, CallState.Ended],
  [CallState.Held]: [CallState.Connected, CallState.Ending, CallState.Ended],
  [CallState.Ending]: [CallState.Ended],
  [CallState.Ended]: [],
};

/** States in which a call has an established dialog with media. */
export const LIVE_STATES: readonly CallState[] = [CallState.Connected, CallState.Held];

/** States that are not yet answered. */
export const EARLY_STATES: readonly CallState[] = [
  CallState.Dialing,
  CallState.Ringing,
  CallState.Incoming,
  CallState.Connecting,
];
