/**
 * Short-lived TURN credentials (the TURN REST API that coturn's `use-auth-secret` speaks): the
 * username is `<expiry>:<user>` (expiry in Unix seconds) and the credential is
 * base64(HMAC-SHA1(shared secret, username)), so the TURN server checks them with the shared
 * secret alone and refuses them after the expiry. Handed to each phone with `GETME`.
 *
 * The expiry is rounded up to a multiple of half the lifetime: every `GETME` of a user in the
 * same half gets the same credentials (a new page does not make the phone register again), and
 * each lives between one and one and a half lifetimes.
 *
 * @module
 */
import type { IceServer } from "../shared/api/widget.ts";

/** The TURN server and its shared secret (`TURN_URLS`, `TURN_SHARED_SECRET`). */
export interface TurnRestOptions {
  urls: string[];
  secret: string;
  /** The shortest lifetime of a credential, in seconds (`TURN_CREDENTIAL_TTL_SECONDS`). */
  ttlSeconds: number;
}

/** The ICE server entry with `user`'s credentials valid from `now` for at least the lifetime. */
export async function turnRestServer(
  options: TurnRestOptions,
  user: string,
  now = Date.now(),
): Promise<IceServer> {
  const step = Math.max(1, Math.floor(options.ttlSeconds / 2));
  const expiry = Math.ceil((Math.floor(now / 1000) + options.ttlSeconds) / step) * step;
  const username = `${expiry}:${user}`;
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(options.secret),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, encoder.encode(username)));
  return { urls: options.urls, username, credential: btoa(String.fromCharCode(...mac)) };
}
