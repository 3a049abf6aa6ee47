/**
 * OAuth token refresh against Bitrix24's OAuth server, only ever to an allow-listed host (or the
 * operator's `BITRIX_OAUTH_URL`), so the client secret never goes to a host taken from a request.
 *
 * @module
 */
import { z } from "zod";
import { BitrixApiError } from "./rest.ts";

/** The token endpoint's answer (refresh_token grant). */
const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires: z.coerce.number().optional(),
  expires_in: z.coerce.number().default(3600),
  client_endpoint: z.string().url().optional(),
  server_endpoint: z.string().url().optional(),
  member_id: z.string().optional(),
  domain: z.string().optional(),
  scope: z.string().optional(),
  status: z.string().optional(),
  user_id: z.coerce.number().optional(),
});

/** A parsed token answer. */
export type TokenResponse = z.output<typeof tokenResponseSchema>;

/**
 * The token URL for a portal: `BITRIX_OAUTH_URL` when configured, else `https://<host>/oauth/token/`
 * of the stored `server_endpoint` when its host is allow-listed; otherwise undefined.
 */
export function tokenUrlFor(
  serverEndpoint: string | null,
  opts: { override?: string; allowedHosts: string[] },
): string | undefined {
  if (opts.override) return opts.override;
  if (!serverEndpoint) return "https://oauth.bitrix.info/oauth/token/";
  let url: URL;
  try {
    url = new URL(serverEndpoint);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" || !opts.allowedHosts.includes(url.hostname)) return undefined;
  return `https://${url.host}/oauth/token/`;
}

/**
 * The portal's OAuth server as `https://<host>/rest/` when `value` (a `server_endpoint` from
 * ONAPPINSTALL, a page POST or a refresh answer) is https on an allow-listed host; otherwise
 * undefined, and the value is ignored.
 */
export function allowedServerEndpoint(
  value: string | null | undefined,
  allowedHosts: string[],
): string | undefined {
  if (!value || !URL.canParse(value)) return undefined;
  const url = new URL(value);
  if (url.protocol !== "https:" || !allowedHosts.includes(url.hostname)) return undefined;
  return `https://${url.host}/rest/`;
}

/** Exchanges a refresh token for a new pair (the old refresh token stops working). */
export async function refreshTokens(
  tokenUrl: string,
  credentials: { clientId: string; clientSecret: string },
  refreshToken: string,
  timeoutMs = 10_000,
): Promise<TokenResponse> {
  let response: Response;
  try {
    response = await fetch(tokenUrl, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        refresh_token: refreshToken,
      }),
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new BitrixApiError("NETWORK_ERROR", 0, (err as Error).name, "oauth/token");
  }
  const body = await response.json().catch(() => undefined) as Record<string, unknown> | undefined;
  if (!response.ok || !body || typeof body.error === "string") {
    const code = typeof body?.error === "string" ? body.error : `HTTP_${response.status}`;
    const status = response.ok ? 400 : response.status;
    throw new BitrixApiError(code, status, String(body?.error_description ?? ""), "oauth/token");
  }
  const parsed = tokenResponseSchema.safeParse(body);
  if (!parsed.success) {
    throw new BitrixApiError("BAD_TOKEN_RESPONSE", 502, "unexpected answer", "oauth/token");
  }
  return parsed.data;
}
