/**
 * `deno task portal`: runs the Bitrix24 portal emulator and prints its URL, the portal pages,
 * the app identity, the users and a token pair per active user. Settings come from the
 * environment: PORTAL_HOST, PORTAL_PORT, PORTAL_OAUTH_PORT, PORTAL_CLIENT_ID,
 * PORTAL_CLIENT_SECRET, PORTAL_APP_TYPE (local|market), PORTAL_RATE_LIMIT (off to disable),
 * PORTAL_APP_URL (the app's main page), PORTAL_INSTALL_URL (its installer), PORTAL_LANG (ru|en),
 * PORTAL_INSTALLED (false: start with the app not installed), PORTAL_APP_CODE (a Market app's
 * symbolic code), PORTAL_SERVER_ENDPOINT (the `server_endpoint` of another region),
 * PORTAL_PAYMENT_EXPIRED (true: REST answers PAYMENT_REQUIRED).
 *
 * On Linux the portal listens on 127.0.0.2 by default, so that pages of the app on 127.0.0.1 are
 * cross-site frames as on a real portal (macOS has only 127.0.0.1 on loopback).
 *
 * @module
 */
import { z } from "zod";
import { startPortal } from "./mod.ts";

const envSchema = z.object({
  PORTAL_HOST: z.string().min(1).default(Deno.build.os === "linux" ? "127.0.0.2" : "127.0.0.1"),
  PORTAL_PORT: z.coerce.number().int().min(0).max(65535).default(9000),
  PORTAL_OAUTH_PORT: z.coerce.number().int().min(0).max(65535).default(9001),
  PORTAL_CLIENT_ID: z.string().min(1).optional(),
  PORTAL_CLIENT_SECRET: z.string().min(1).optional(),
  PORTAL_APP_TYPE: z.enum(["local", "market"]).default("local"),
  PORTAL_RATE_LIMIT: z.enum(["on", "off"]).default("on"),
  /** The app's DEFAULT page and installer (the app's own routes on its default address). */
  PORTAL_APP_URL: z.url().default("http://127.0.0.1:8000/"),
  PORTAL_INSTALL_URL: z.url().default("http://127.0.0.1:8000/install"),
  PORTAL_LANG: z.string().regex(/^[a-z]{2}$/).default("ru"),
  PORTAL_INSTALLED: z.enum(["true", "false"]).default("true"),
  PORTAL_APP_CODE: z.string().min(1).optional(),
  PORTAL_SERVER_ENDPOINT: z.url().optional(),
  PORTAL_PAYMENT_EXPIRED: z.enum(["true", "false"]).default("false"),
});

const env = envSchema.parse(Deno.env.toObject());
const portal = await startPortal({
  hostname: env.PORTAL_HOST,
  port: env.PORTAL_PORT,
  oauthPort: env.PORTAL_OAUTH_PORT,
  rateLimit: env.PORTAL_RATE_LIMIT === "off" ? false : undefined,
  appUrl: env.PORTAL_APP_URL,
  installUrl: env.PORTAL_INSTALL_URL,
  language: env.PORTAL_LANG,
  installed: env.PORTAL_INSTALLED === "true",
  serverEndpoint: env.PORTAL_SERVER_ENDPOINT,
  app: {
    clientId: env.PORTAL_CLIENT_ID,
    clientSecret: env.PORTAL_CLIENT_SECRET,
    code: env.PORTAL_APP_CODE,
    type: env.PORTAL_APP_TYPE,
    paymentExpired: env.PORTAL_PAYMENT_EXPIRED === "true",
  },
});

const lines = [
  `Bitrix24 portal emulator at ${portal.url}`,
  `  portal page (admin):     ${portal.pageUrl()}`,
  `  install the app:         ${
    portal.pageUrl({ view: "apps" })
  }  (installer ${env.PORTAL_INSTALL_URL})`,
  `  REST (client_endpoint):  ${portal.clientEndpoint}`,
  `  OAuth token endpoint:    ${portal.tokenUrl}`,
  `  member_id:               ${portal.memberId}`,
  `  client_id:               ${portal.app.clientId}`,
  `  client_secret:           ${portal.app.clientSecret}`,
  `  app CODE:                ${portal.app.code}`,
  `  application_token:       ${portal.app.applicationToken}`,
  "",
  "Run the app against it with:",
  `  BITRIX_OAUTH_URL=${portal.tokenUrl} BITRIX_ALLOW_INSECURE_PORTALS=true \\`,
  `  FRAME_ANCESTORS=${portal.url} deno task dev`,
  "",
  "Users and tokens (access expires in 1 h; refresh tokens rotate):",
];
for (const user of portal.state.users.list()) {
  const who = `${user.id} ${user.name} ${user.lastName}${user.admin ? " (admin)" : ""}`;
  if (!user.active) {
    lines.push(`  ${who} — inactive`);
    continue;
  }
  const t = portal.issueTokens({ userId: user.id });
  lines.push(`  ${who}, ext ${user.phoneInner}`);
  lines.push(`      access_token=${t.accessToken} refresh_token=${t.refreshToken}`);
}
// deno-lint-ignore no-console
console.log(lines.join("\n"));
