/**
 * Runs one REST method the way CRestServer does: find the method (404 before any auth check),
 * authenticate the token, check the scope, run, lift `total`/`next` out of list results, and
 * record the call.
 *
 * @module
 */
import type { PortalState } from "../state.ts";
import { type Caller, type MethodSpec, type Outcome, Page } from "./context.ts";
import {
  applicationNotFound,
  authorizationError,
  expiredToken,
  insufficientScope,
  invalidToken,
  methodNotFound,
  noAuthFound,
  paymentRequired,
  RestError,
} from "./errors.ts";
import { int } from "./params.ts";
import { METHODS } from "./registry.ts";

/**
 * Methods that still answer while the app's payment is overdue: who the app and the caller
 * are (so the app can tell its users why), and `batch` itself (its commands are checked).
 */
const UNPAID_ALLOWED = new Set([
  "app.info",
  "user.current",
  "user.admin",
  "profile",
  "scope",
  "batch",
]);

/** The caller of `token`, or the auth error the portal would answer. */
export function authenticate(
  state: PortalState,
  token: string | undefined,
  scopes: readonly string[] | null,
): Caller {
  if (!token) throw noAuthFound();
  const grant = state.tokens.byAccessToken(token);
  if (!grant) throw state.tokens.wasRevoked(token) ? applicationNotFound() : invalidToken();
  if (state.tokens.isExpired(grant)) throw expiredToken();
  if (scopes && !scopes.some((s) => grant.scope.includes(s))) throw insufficientScope();
  const user = state.users.get(grant.userId);
  if (!user?.active) throw authorizationError();
  return { grant, user };
}

/** Calls `method` (already normalized) with `params` and `token`; never throws RestError. */
export async function invoke(
  state: PortalState,
  method: string,
  params: Record<string, unknown>,
  token: string | undefined,
  batchKey?: string,
): Promise<Outcome> {
  const startedAt = state.clock.now();
  const { start, ...rest } = params;
  let userId: number | null = null;
  const outcome = await (async (): Promise<Outcome> => {
    try {
      const spec: MethodSpec | undefined = Object.hasOwn(METHODS, method)
        ? METHODS[method]
        : undefined;
      if (!spec) throw methodNotFound();
      const caller = authenticate(state, token, spec.scopes);
      userId = caller.user.id;
      if (state.app.paymentExpired && !UNPAID_ALLOWED.has(method)) throw paymentRequired();
      const value = await spec.run({
        state,
        caller,
        params: rest,
        start: Math.max(0, int(start)),
        run: (m, p, key) => invoke(state, m, p, token, key),
      });
      const finishedAt = state.clock.now();
      return value instanceof Page
        ? {
          ok: true,
          result: value.items,
          total: value.total,
          next: value.next,
          startedAt,
          finishedAt,
        }
        : { ok: true, result: value, startedAt, finishedAt };
    } catch (err) {
      if (err instanceof RestError) return { ok: false, error: err };
      throw err;
    }
  })();
  state.records.addCall({
    method,
    params,
    userId,
    at: startedAt,
    status: outcome.ok ? 200 : outcome.error.status,
    ...(outcome.ok ? {} : { error: outcome.error.code }),
    ...(batchKey === undefined ? {} : { batchKey }),
  });
  return outcome;
}
