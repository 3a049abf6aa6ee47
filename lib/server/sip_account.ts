/**
 * Validation of SIP accounts as admins and users enter them: a `wss://` WebSocket URL (`ws://`
 * only for loopback in development), a SIP login, an optional SIP URI (derived from the login
 * and the server's host when absent), a password and a display name, all with sane lengths.
 *
 * @module
 */
import { z } from "zod";
import type { SipAccountInput } from "./db/sip_accounts.ts";

const SIP_USER = /^[A-Za-z0-9._~+!$&'()*,;=%-]{1,64}$/;
const SIP_URI = /^sips?:[A-Za-z0-9._~+!$&'()*,;=%-]{1,64}@[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;
const LOOPBACK_HOSTS = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;

/** The zod fields of a SIP account; `allowInsecureLoopback` admits `ws://127.0.0.1…`. */
export function sipAccountFields(allowInsecureLoopback: boolean) {
  return {
    url: z.string().max(300).refine((value) => {
      try {
        const url = new URL(value);
        if (url.protocol === "wss:") return true;
        return url.protocol === "ws:" && allowInsecureLoopback && LOOPBACK_HOSTS.test(url.hostname);
      } catch {
        return false;
      }
    }, "must be a wss:// URL"),
    user: z.string().regex(SIP_USER, "SIP login: letters, digits and . _ ~ + - only"),
    password: z.string().min(1).max(128).optional(),
    sipUri: z.string().regex(SIP_URI, "SIP URI like sip:101@pbx.example.com").optional(),
    displayName: z.string().trim().max(100).optional(),
  };
}

/** Parsed account fields as the widget receives them. */
export interface SipAccountFields {
  url: string;
  user: string;
  password?: string;
  sipUri?: string;
  displayName?: string;
}

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
