/**
 * SIP accounts as the widget receives them (validated by the contract's `sipAccountFields`,
 * `lib/shared/api/widget.ts`) turned into what the repository stores.
 *
 * @module
 */
import type { SipAccountInput } from "./db/sip_accounts.ts";
import type { SipAccountFields } from "../shared/api/widget.ts";

/** The repository input for parsed fields (SIP URI derived from the login and host if absent). */
export function toSipAccountInput(a: SipAccountFields): SipAccountInput {
  return {
    wsUrl: a.url,
    authUser: a.user,
    password: a.password,
    sipUri: a.sipUri ?? `sip:${a.user}@${new URL(a.url).hostname}`,
    displayName: a.displayName || null,
  };
}
