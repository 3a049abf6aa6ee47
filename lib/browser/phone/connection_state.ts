/**
 * Connection state of the engine's WebSocket to the SIP server.
 *
 * ```
 *   Idle ──register(): start the UserAgent──▶ Connecting ──WebSocket open──▶ Connected
 *   Connected ──WebSocket lost: back off──▶ Waiting ──backoff over──▶ Reconnecting
 *   Reconnecting ──WebSocket open: re-REGISTER, restart ICE──▶ Connected
 *   Connecting, Reconnecting ──cannot connect: back off──▶ Waiting
 *   Connecting, Reconnecting, Connected ──lost, no retry (bad credentials)──▶ Down
 *   Down ──a later REGISTER refusal scheduled a retry──▶ Waiting
 *   Connecting, Reconnecting, Connected, Waiting, Down ──unregister(), new account──▶ Idle
 * ```
 *
 * A REGISTER refused while Connected (not for the credentials) is retried on the same backoff
 * without leaving Connected. Pages see only {@link ConnectionState}: Connecting and Reconnecting
 * as `connecting`, Connected as `connected`, every other state as `disconnected`
 * ({@link publicConnectionState}).
 *
 * @module
 */
import type { Edges } from "./state_machine.ts";
import type { ConnectionState } from "./types.ts";

/** Connection states. */
export enum ConnectionPhase {
  Idle = "idle",
  Connecting = "connecting",
  Reconnecting = "reconnecting",
  Connected = "connected",
  Waiting = "waiting",
  Down = "down",
}

/** Allowed connection transitions (the diagram above). */
export const CONNECTION_EDGES: Edges<ConnectionPhase> = {
  [ConnectionPhase.Idle]: [ConnectionPhase.Connecting],
  [ConnectionPhase.Connecting]: [
    ConnectionPhase.Connected,
    ConnectionPhase.Waiting,
    ConnectionPhase.Down,
    ConnectionPhase.Idle,
  ],
  [ConnectionPhase.Reconnecting]: [
    ConnectionPhase.Connected,
    ConnectionPhase.Waiting,
    ConnectionPhase.Down,
    ConnectionPhase.Idle,
  ],
  [ConnectionPhase.Connected]: [
    ConnectionPhase.Waiting,
    ConnectionPhase.Down,
    ConnectionPhase.Idle,
  ],
  [ConnectionPhase.Waiting]: [ConnectionPhase.Reconnecting, ConnectionPhase.Idle],
  [ConnectionPhase.Down]: [ConnectionPhase.Waiting, ConnectionPhase.Idle],
};

/** The connection as pages see it (`PhoneSnapshot.connection`). */
export function publicConnectionState(phase: ConnectionPhase): ConnectionState {
  if (phase === ConnectionPhase.Connecting || phase === ConnectionPhase.Reconnecting) {
    return "connecting";
  }
  if (phase === ConnectionPhase.Connected) return "connected";
  return "disconnected";
}
