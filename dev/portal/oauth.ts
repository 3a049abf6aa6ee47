/**
 * The OAuth server (stand-in for oauth.bitrix.info / oauth.bitrix24.tech): `/oauth/token/` with
 * `grant_type=refresh_token` as a GET query or a form POST (DOCS settings/oauth/*). Refresh
 * tokens rotate. ⚠ Error HTTP statuses are not documented; RFC 6749 §5.2 is used (401 for
 * invalid_client, else 400).
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { parsePhpQuery } from "./php_query.ts";
import type { PortalState } from "./state.ts";

function oauthError(c: Context, status: 400 | 401, error: string, description: string) {
  return c.json({ error, error_description: description }, status);
}

async function readParams(req: Request): Promise<Record<string, string>> {
  const url = new URL(req.url);
  const pairs: [string, string][] = [...url.searchParams];
  if (req.method === "POST") pairs.push(...new URLSearchParams(await req.text()));
  const parsed = parsePhpQuery(pairs);
  return Object.fromEntries(
    Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === "string"),
  );
}

async function token(c: Context, state: PortalState): Promise<Response> {
  const p = await readParams(c.req.raw);
  const at = state.clock.now();
  const record = (status: number, error?: string) =>
    state.records.addOAuth({
      grantType: p.grant_type ?? "",
      clientId: p.client_id ?? "",
      at,
      status,
      ...(error ? { error } : {}),
    });
  const fault = state.faults.take("oauth.token", at);
  if (fault === "timeout") {
    record(504, "fault:timeout");
    return new Response("Gateway Time-out", { status: 504 });
  }
  if (fault) {
    record(503, `fault:${fault}`);
    return c.text("Service Unavailable", 503);
  }
  const fail = (status: 400 | 401, error: string, description: string) => {
    record(status, error);
    return oauthError(c, status, error, description);
  };
  const app = state.app;
  if (p.grant_type !== "refresh_token") {
    return fail(400, "invalid_request", "Only grant_type=refresh_token is emulated");
  }
  if (!p.client_id || !p.client_secret || !p.refresh_token) {
    return fail(400, "invalid_request", "client_id, client_secret and refresh_token are required");
  }
  if (app.invalidClient || p.client_id !== app.clientId || p.client_secret !== app.clientSecret) {
    return fail(401, "invalid_client", "Invalid client");
  }
  if (app.removed) return fail(401, "invalid_client", "Application is not installed");
  if (app.paymentExpired) return fail(400, "PAYMENT_REQUIRED", "Payment required");
  const grant = state.tokens.rotate(p.refresh_token, (id) => state.users.get(id)?.active === true);
  if (grant === "unknown") return fail(400, "invalid_grant", "Invalid refresh token");
  if (grant === "expired") return fail(400, "invalid_grant", "Refresh token has expired");
  // ⚠ The text is the emulator's: the docs say only that the token dies with its user.
  if (grant === "inactive") return fail(400, "invalid_grant", "The user is not active");
  // A refresh token belongs to the app it was issued to: another app's is unknown to ours.
  if (grant.otherApp) return fail(400, "invalid_grant", "Invalid refresh token");
  record(200);
  const t = state.tokenSet(grant);
  return c.json({
    access_token: t.accessToken,
    client_endpoint: t.clientEndpoint,
    domain: state.endpoints.oauthDomain,
    expires: t.expires,
    expires_in: t.expiresIn,
    member_id: t.memberId,
    refresh_token: t.refreshToken,
    scope: t.scope,
    server_endpoint: t.serverEndpoint,
    status: t.status,
    user_id: t.userId,
  });
}

/** Builds the OAuth server application. */
export function oauthApp(state: PortalState): Hono {
  const app = new Hono();
  app.on(["GET", "POST"], ["/oauth/token", "/oauth/token/"], (c) => token(c, state));
  app.notFound((c) => c.json({ error: "invalid_request", error_description: "Not found" }, 404));
  return app;
}
