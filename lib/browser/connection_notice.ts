/**
 * What the phone says about its connection to the PBX when something is wrong, and whether a
 * Retry makes sense: a lost connection that is being restored (the current call goes on), the
 * PBX out of reach, or an account the PBX refuses (only an administrator can fix that).
 *
 * @module
 */
import type { TextKey } from "../shared/i18n.ts";
import type { PhoneSnapshot } from "./phone/types.ts";

/** One notice above the phone. */
export interface ConnectionNotice {
  text: TextKey;
  /** `warn`: it fixes itself; `error`: someone has to act. */
  tone: "warn" | "error";
  /** Offer a Retry button (registers again now). */
  retry: boolean;
}

/**
 * The notice for `snapshot`, or null while all is well (or still starting: the status pill
 * says "Connecting…"). `wasRegistered`: this page saw the phone registered before, so a
 * connection that goes away now was lost, not never made. `editsOwnAccount`: the user may fix
 * the login in Settings.
 */
export function connectionNotice(
  snapshot: Pick<PhoneSnapshot, "registration" | "connection" | "calls">,
  wasRegistered: boolean,
  editsOwnAccount = false,
): ConnectionNotice | null {
  const { registration, connection } = snapshot;
  const inCall = snapshot.calls.some((c) => c.state !== "ended");
  const lost: ConnectionNotice = {
    text: inCall ? "connLostInCall" : "connLost",
    tone: "warn",
    retry: false,
  };
  if (registration.state === "registering") {
    return wasRegistered && connection !== "connected" ? lost : null;
  }
  if (registration.state !== "failed") return null;
  switch (registration.error?.code) {
    case "bad-credentials":
      return {
        text: editsOwnAccount ? "connBadCredentialsOwn" : "connBadCredentials",
        tone: "error",
        retry: true,
      };
    case "rejected":
      return { text: "connRejected", tone: "error", retry: true };
    case "invalid-account":
      return { text: "errInvalidAccount", tone: "error", retry: false };
    default:
      return wasRegistered
        ? { ...lost, retry: true }
        : { text: "connUnreachable", tone: "warn", retry: true };
  }
}
