/**
 * Registration state of the phone engine.
 *
 * ```
 *   Unregistered ──register()──▶ Registering ──200 OK──▶ Registered
 *   Registered ──WebSocket lost: re-register (backoff)──▶ Registering
 *   Registering, Registered ──401/403, other 4xx-6xx, unreachable──▶ Failed
 *   Failed ──retry (backoff, unless bad credentials)──▶ Registering
 *   Registering, Registered, Failed ──unregister()──▶ Unregistered
 * ```
 *
 * `Failed` carries an error code (see {@link RegistrationError}); a failure from bad
 * credentials is final until `register()` is called again, other failures are retried with
 * backoff while the account stays set.
 *
 * @module
 */
import type { Edges } from "./state_machine.ts";

/** Registration states. */
export enum RegistrationState {
  Unregistered = "unregistered",
  Registering = "registering",
  Registered = "registered",
  Failed = "failed",
}

/** Allowed registration transitions (the diagram above). */
export const REGISTRATION_EDGES: Edges<RegistrationState> = {
  [RegistrationState.Unregistered]: [RegistrationState.Registering],
  [RegistrationState.Registering]: [
    RegistrationState.Registered,
    RegistrationState.Failed,
    RegistrationState.Unregistered,
  ],
  [RegistrationState.Registered]: [
    RegistrationState.Registering,
    RegistrationState.Failed,
    RegistrationState.Unregistered,
  ],
  [RegistrationState.Failed]: [RegistrationState.Registering, RegistrationState.Unregistered],
};

/** Why registration failed. */
export type RegistrationErrorCode =
  /** The server refused the credentials (401/403 after authenticating). */
  | "bad-credentials"
  /** The WebSocket could not be opened or was closed before registering. */
  | "unreachable"
  /** The server answered REGISTER with another error status. */
  | "rejected"
  /** The account settings are invalid (bad URI or URL). */
  | "invalid-account";

/** A registration failure as shown to users. */
export interface RegistrationError {
  code: RegistrationErrorCode;
  /** Human-readable detail (English, for logs and tooltips). */
  message: string;
  /** The SIP status that caused it, if any. */
  sipStatus?: number;
}
