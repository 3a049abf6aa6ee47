/**
 * Who is calling and what they may do: the token from `X-Vault-Token` (or a bearer header),
 * 403 for a missing, unknown or expired one; and the ACL check of the token's policies, where
 * the most specific matching path rule wins and `deny` beats everything.
 *
 * @module
 */
import type { Cap, Rule } from "./policy.ts";
import { fail } from "./reply.ts";
import type { TokenEntry, VaultState } from "./state.ts";

/** The live token of `req`, or a 403 answer (expired tokens are dropped on the way). */
export function authenticate(state: VaultState, req: Request): TokenEntry {
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  const id = req.headers.get("x-vault-token") ?? bearer;
  if (!id) fail(403, "permission denied");
  const entry = state.tokens.get(id);
  if (entry && (entry.expiresAt === null || entry.expiresAt > state.clock.now())) return entry;
  if (entry) state.tokens.delete(id);
  if (state.legacyForbidden) fail(403, "permission denied");
  fail(403, "permission denied", "invalid token");
}

/** Throws 403 unless one of the token's policies grants `cap` on `path`. */
export function allow(state: VaultState, token: TokenEntry, path: string, cap: Cap): void {
  if (token.policies.includes("root")) return;
  const matches = token.policies.flatMap((p) => state.policies.get(p)?.rules ?? [])
    .filter((r) => r.regex.test(path));
  if (matches.length) {
    const score = (r: Rule) => (r.exact ? 1e6 : 0) + r.prefixLength;
    const best = Math.max(...matches.map(score));
    const caps = new Set(matches.filter((r) => score(r) === best).flatMap((r) => [...r.caps]));
    if (!caps.has("deny") && caps.has(cap)) return;
  }
  fail(403, "permission denied");
}
