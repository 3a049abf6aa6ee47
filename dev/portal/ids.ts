/**
 * Random identifiers in the shapes Bitrix24 uses: 32 hex digits for `member_id`,
 * `application_token` and call hashes; short lowercase alphanumerics for OAuth tokens.
 *
 * @module
 */

/** `bytes` random bytes as lowercase hex. */
export function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

const ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";

/** A 32-character `[a-z0-9]` token like the access/refresh tokens in the Bitrix24 docs. */
export function randomToken(): string {
  const buf = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(buf, (b) => ALNUM[b % ALNUM.length]).join("");
}
