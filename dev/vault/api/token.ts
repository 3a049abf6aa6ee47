/**
 * The token's own endpoints: `auth/token/lookup-self`, `renew-self` (re-reading the role's
 * TTLs, capped at the max TTL) and `revoke-self`; and the `auth` object of login and renewal
 * answers.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { iso, parseDuration } from "../params.ts";
import { envelope, fail, noContent } from "../reply.ts";
import { SYSTEM_MAX_TTL, type TokenEntry } from "../state.ts";

/** The `auth` object of an answer that issues or renews `t` with a lease of `leaseSec`. */
export function authObject(t: TokenEntry, leaseSec: number): Record<string, unknown> {
  return {
    client_token: t.id,
    accessor: t.accessor,
    policies: t.policies,
    token_policies: t.tokenPolicies,
    identity_policies: null,
    metadata: t.meta,
    lease_duration: leaseSec,
    renewable: t.renewable,
    entity_id: t.entityId,
    token_type: "service",
    orphan: true,
    mfa_requirement: null,
    num_uses: 0,
  };
}

/** `auth/token/*-self` with the caller's own token. */
export function tokenSelf(ctx: Ctx, token: TokenEntry): Response {
  const { state } = ctx;
  const now = state.clock.now();
  switch (ctx.path) {
    case "auth/token/lookup-self": {
      if (ctx.method !== "GET" && ctx.method !== "POST") fail(405, "unsupported operation");
      allow(state, token, ctx.path, "read");
      return envelope({
        data: {
          accessor: token.accessor,
          creation_time: Math.floor(token.issuedAt / 1000),
          creation_ttl: token.ttlSec,
          display_name: token.role ? token.role.mount : "root",
          entity_id: token.entityId,
          expire_time: token.expiresAt === null ? null : iso(token.expiresAt),
          explicit_max_ttl: 0,
          id: token.id,
          issue_time: iso(token.issuedAt),
          meta: token.meta,
          num_uses: 0,
          orphan: true,
          path: token.path,
          policies: token.policies,
          renewable: token.renewable,
          ttl: token.expiresAt === null ? 0 : Math.floor((token.expiresAt - now) / 1000),
          type: "service",
        },
      });
    }
    case "auth/token/renew-self": {
      if (ctx.method !== "POST") fail(405, "unsupported operation");
      allow(state, token, ctx.path, "update");
      if (!token.renewable || token.expiresAt === null) fail(400, "lease is not renewable");
      const role = token.role && state.auth.get(token.role.mount)?.roles.get(token.role.name);
      if (role) { // a role's TTLs are re-read at renewal time
        token.ttlSec = role.tokenTtl || SYSTEM_MAX_TTL;
        token.maxExpiresAt = token.issuedAt + (role.tokenMaxTtl || SYSTEM_MAX_TTL) * 1000;
      }
      const increment = ctx.body.increment === undefined
        ? 0
        : parseDuration(ctx.body.increment, "increment");
      const wanted = now + (increment || token.ttlSec) * 1000;
      token.expiresAt = Math.min(wanted, token.maxExpiresAt ?? wanted);
      const lease = Math.max(0, Math.floor((token.expiresAt - now) / 1000));
      return envelope({ auth: authObject(token, lease) });
    }
    case "auth/token/revoke-self":
      if (ctx.method !== "POST") fail(405, "unsupported operation");
      allow(state, token, ctx.path, "update");
      state.tokens.delete(token.id);
      return noContent();
  }
  fail(404);
}
