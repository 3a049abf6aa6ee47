/**
 * Installing the app on a portal from the installer page: the untrusted POST is checked by
 * calling the portal (our app, an administrator), the portal is upserted by `member_id` with
 * its tokens sealed, and placements, event handlers and the external line are bound —
 * idempotently, reading what is already bound first.
 *
 * Where the portal is asked (nothing is called before the address is settled; every "no" is
 * the same 401, known `member_id` or not):
 *
 * ```text
 * member_id known ──▶ stored address ──(redirects)──▶ where a refresh says it moved
 * member_id new ──▶ DOMAIN an IP / private name / http? ──yes──▶ 401
 *                     │ no
 *                     ├─ app credentials ──▶ OAuth server exchanges REFRESH_ID
 *                     │                       └─ same member_id, host = DOMAIN? ──no──▶ 401
 *                     │                             └─ yes ──▶ its client_endpoint, new pair
 *                     └─ none (local app) ──▶ DOMAIN on BITRIX_PORTAL_HOSTS? ──no──▶ 401
 *                                               └─ yes ──▶ https://DOMAIN/rest/, the POST's pair
 * then: app.info names our app (the recorded code) and user.admin is true, or 401 / 403
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../config.ts";
import type { Portal, PortalRepo, PortalTokens } from "../db/portals.ts";
import type { PortalChanges } from "../portal_changes.ts";
import { ForbiddenError, UnauthorizedError, UpstreamError } from "../errors.ts";
import { log } from "../log.ts";
import { type AppIdentityDeps, type FrameUser, isOurApp, whoIs } from "./frame_auth.ts";
import type { PortalClients } from "./portal_clients.ts";
import { allowedServerEndpoint, refreshTokens, tokenUrlFor } from "./oauth.ts";
import {
  checkPortalAddress,
  type PortalAddress,
  type PortalAddressPolicy,
} from "./portal_address.ts";
import type { ConcurrencyLimit } from "../concurrency_limit.ts";
import type { CallOutBudget } from "../rate_limit.ts";
import { BitrixApiError } from "./rest.ts";
import { askPortal } from "./uninstall.ts";

/** The installer page's POST fields and query (all untrusted). */
export const installRequestSchema = z.object({
  AUTH_ID: z.string().min(1).max(500),
  AUTH_EXPIRES: z.coerce.number().int().min(1).max(86400).default(3600),
  REFRESH_ID: z.string().min(1).max(500),
  member_id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  DOMAIN: z.string().regex(/^[a-z0-9.-]{1,253}(:\d{1,5})?$/i),
  PROTOCOL: z.enum(["0", "1"]).default("1"),
  LANG: z.string().regex(/^[a-z]{2}$/i).optional(),
  SERVER_ENDPOINT: z.string().url().max(300).optional(),
  status: z.string().max(2).optional(),
  /** Sent by newer portal templates; stored only for a verified administrator. */
  APPLICATION_TOKEN: z.string().min(1).max(200).optional(),
});

/** A parsed installer request. */
export type InstallRequest = z.output<typeof installRequestSchema>;

/** The external line every call is registered on. */
const EXTERNAL_LINE = { NUMBER: "webrtc", NAME: "WebRTC SIP phone" };

/** Handler URLs given to Bitrix24, built from `APP_BASE_URL`. */
function handlerUrls(baseUrl: string) {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    app: `${base}/`,
    background: `${base}/placement/background`,
    installEvent: `${base}/api/bitrix/install`,
    callback: `${base}/api/bitrix/callback`,
    placementError: `${base}/api/bitrix/placement-error`,
  };
}

/** What binding the app to a portal needs. */
export interface BindDeps {
  config: Pick<Config, "APP_BASE_URL">;
  portals: Pick<PortalRepo, "issueErrorToken" | "setExternalLine">;
  bitrix: { clients: Pick<PortalClients, "forPortal"> };
}

/** What installing the app needs. */
export interface InstallDeps extends BindDeps, AppIdentityDeps {
  config:
    & BindDeps["config"]
    & AppIdentityDeps["config"]
    & Pick<
      Config,
      | "BITRIX_ALLOW_INSECURE_PORTALS"
      | "BITRIX_ALLOWED_OAUTH_HOSTS"
      | "BITRIX_OAUTH_URL"
      | "BITRIX_PORTAL_HOSTS"
    >;
  portals: PortalRepo;
  changes: Pick<PortalChanges, "changed">;
  bitrix: {
    clients: Pick<PortalClients, "forPortal" | "followMove">;
    /** Caps the first-install checks running at once (each calls Bitrix24). */
    firstInstalls: Pick<ConcurrencyLimit, "run">;
    /** What checks of unverified installer requests may spend, per client and per portal. */
    installChecks: Pick<CallOutBudget, "spend" | "giveBack">;
  };
}

/**
 * The one refusal of an installer request Bitrix24 did not confirm: the same status and body
 * whether the `member_id` is installed or not, so the answer tells an outsider nothing.
 */
function notConfirmed(memberId: string, reason: string): UnauthorizedError {
  log.warn("bitrix24 install refused", { memberId, reason });
  return new UnauthorizedError("Bitrix24 did not confirm this installation");
}

/** The installer's identity as the portal confirmed it, and the pair to store. */
interface VerifiedInstall {
  address: PortalAddress;
  who: Awaited<ReturnType<typeof whoIs>>;
  tokens: PortalTokens;
  /** The OAuth server the portal belongs to, when Bitrix24 named an allow-listed one. */
  serverEndpoint: string | null;
}

/**
 * Verifies and records an install; returns the portal. A portal already known by its
 * `member_id` is asked at its stored address (the request's DOMAIN is ignored; a portal that
 * moved is followed); a new one only at an address Bitrix24 gave (see `verifyFirstInstall`).
 */
export async function installPortal(
  deps: InstallDeps,
  req: InstallRequest,
  clientAddress: string,
): Promise<{ portal: Portal; created: boolean }> {
  // Spent just before the first call out, so a request refused without one costs nothing.
  const spendCheck = () => deps.bitrix.installChecks.spend(clientAddress, req.member_id);
  const existing = await deps.portals.findByMemberId(req.member_id);
  const requestedServer = allowedServerEndpoint(
    req.SERVER_ENDPOINT,
    deps.config.BITRIX_ALLOWED_OAUTH_HOSTS,
  ) ?? existing?.serverEndpoint ?? null;
  let verified: VerifiedInstall;
  if (existing) {
    spendCheck();
    verified = await verifyReinstall(deps, req, existing, requestedServer);
  } else {
    verified = await deps.bitrix.firstInstalls.run(() =>
      verifyFirstInstall(deps, req, requestedServer, spendCheck)
    );
  }
  // Bitrix24 confirmed the installer: a genuine install costs nothing of the budget.
  deps.bitrix.installChecks.giveBack(clientAddress, req.member_id);
  const { address, who, tokens, serverEndpoint } = verified;
  if (!who.isAdmin) throw new ForbiddenError("only a portal administrator can install the app");
  // A reinstall after an uninstall whose event was lost: the portal refuses the old
  // installation's tokens, so its application token is stale and the new ONAPPINSTALL may
  // bring the new one.
  if (existing?.installed && (await askPortal(deps.bitrix.clients, existing)) === "removed") {
    await deps.portals.clearApplicationToken(existing.id);
    deps.changes.changed(existing);
    log.info("bitrix24 reinstall after a lost uninstall", { memberId: existing.memberId });
  }

  // app.info's STATUS is "L" for a local app; marketplace apps report their plan (F, P, T…).
  const appKind = existing?.appKind === "local" || who.app.STATUS === "L" ? "local" : "marketplace";
  const result = await deps.portals.upsertInstall({
    memberId: req.member_id,
    ...address,
    serverEndpoint,
    tokens,
    installedByUserId: who.userId,
    appKind,
    appCode: who.app.CODE,
    lang: req.LANG ?? null,
  });
  deps.changes.changed(result.portal);
  if (req.APPLICATION_TOKEN) {
    await deps.portals.setApplicationToken(result.portal.id, req.APPLICATION_TOKEN);
  }
  await bindApp(deps, result.portal);
  await deps.portals.recordEvent(result.portal, existing ? "reinstall" : "install", {
    userId: who.userId,
  });
  log.info("portal installed", { memberId: req.member_id, created: result.created });
  return { portal: (await deps.portals.findById(result.portal.id))!, created: result.created };
}

/** The address rules of the configuration. */
function addressPolicy(config: InstallDeps["config"]): PortalAddressPolicy {
  return {
    portalHosts: config.BITRIX_PORTAL_HOSTS,
    allowLoopback: config.BITRIX_ALLOW_INSECURE_PORTALS,
  };
}

/**
 * Asks the portal at `address` who the installer is; the answer must name our app. A token the
 * portal refuses, or another app's, is {@link notConfirmed}; an unreachable portal is a 502.
 */
async function askInstaller(
  deps: InstallDeps,
  req: InstallRequest,
  address: PortalAddress,
  accessToken: string,
  existing: Portal | undefined,
) {
  let who;
  try {
    who = await whoIs({ memberId: req.member_id, ...address }, accessToken);
  } catch (err) {
    if (err instanceof BitrixApiError && (err.unauthorized || err.status === 403)) {
      throw notConfirmed(req.member_id, "the portal did not accept the installer's token");
    }
    throw new UpstreamError("bitrix24", "the portal could not be reached", { cause: err });
  }
  if (!(await isOurApp(who.app.CODE, existing, deps))) {
    throw notConfirmed(req.member_id, "the token belongs to another app");
  }
  return who;
}

/** A known portal's install: asked at its stored address, or where it moved to. */
async function verifyReinstall(
  deps: InstallDeps,
  req: InstallRequest,
  existing: Portal,
  serverEndpoint: string | null,
): Promise<VerifiedInstall> {
  let address = { clientEndpoint: existing.clientEndpoint, domain: existing.domain };
  const who = await askInstaller(deps, req, address, req.AUTH_ID, existing).catch(async (err) => {
    const moved = err instanceof UpstreamError && err.cause instanceof BitrixApiError &&
      err.cause.code === "PORTAL_MOVED" && await deps.bitrix.clients.followMove(existing);
    if (!moved) throw err;
    address = { clientEndpoint: moved.clientEndpoint, domain: moved.domain };
    return await askInstaller(deps, req, address, req.AUTH_ID, moved);
  });
  const tokens = {
    accessToken: req.AUTH_ID,
    refreshToken: req.REFRESH_ID,
    expiresAt: new Date(Date.now() + req.AUTH_EXPIRES * 1000),
  };
  return { address, who, tokens, serverEndpoint };
}

/**
 * The first install of a `member_id`. Nothing in the request is Bitrix24's word, so the portal
 * is never asked at the request's DOMAIN as such: with the app's credentials (a Market app) the
 * installer's refresh token is exchanged at the allow-listed OAuth server first, whose answer
 * must name the same `member_id` and the DOMAIN's host, and the portal is asked at that
 * `client_endpoint` with the new token (the old pair is used up). Without credentials (a local
 * app before they are saved) the DOMAIN must be on `BITRIX_PORTAL_HOSTS`. Either way IP
 * literals and private names are refused before anything is called.
 */
async function verifyFirstInstall(
  deps: InstallDeps,
  req: InstallRequest,
  serverEndpoint: string | null,
  spendCheck: () => void,
): Promise<VerifiedInstall> {
  const { bitrixClientId, bitrixClientSecret } = await deps.secrets.appSecrets();
  const credentials = bitrixClientId && bitrixClientSecret
    ? { clientId: bitrixClientId, clientSecret: bitrixClientSecret }
    : undefined;
  const policy = addressPolicy(deps.config);
  const scheme = req.PROTOCOL === "0" ? "http" : "https";
  const requested = checkPortalAddress(`${scheme}://${req.DOMAIN}`, policy, Boolean(credentials));
  if ("refused" in requested) throw notConfirmed(req.member_id, `DOMAIN: ${requested.refused}`);
  spendCheck();
  if (!credentials) {
    const who = await askInstaller(deps, req, requested, req.AUTH_ID, undefined);
    if (who.app.STATUS !== "L") {
      throw new UpstreamError("bitrix24", "the app's client id and secret are not configured");
    }
    const tokens = {
      accessToken: req.AUTH_ID,
      refreshToken: req.REFRESH_ID,
      expiresAt: new Date(Date.now() + req.AUTH_EXPIRES * 1000),
    };
    return { address: requested, who, tokens, serverEndpoint };
  }
  const tokenUrl = tokenUrlFor(serverEndpoint, {
    override: deps.config.BITRIX_OAUTH_URL,
    allowedHosts: deps.config.BITRIX_ALLOWED_OAUTH_HOSTS,
  });
  if (!tokenUrl) throw notConfirmed(req.member_id, "the OAuth server is not on the allow-list");
  let fresh;
  try {
    fresh = await refreshTokens(tokenUrl, credentials, req.REFRESH_ID);
  } catch (err) {
    if (err instanceof BitrixApiError && !err.transient) {
      throw notConfirmed(req.member_id, `the OAuth server refused the token: ${err.code}`);
    }
    throw new UpstreamError("bitrix24", "the OAuth server could not be reached", { cause: err });
  }
  const named = checkPortalAddress(fresh.client_endpoint ?? "", policy, true);
  if (fresh.member_id !== req.member_id || "refused" in named) {
    throw notConfirmed(req.member_id, "the OAuth server names another portal");
  }
  if (named.domain !== requested.domain) {
    throw notConfirmed(req.member_id, "the OAuth server names another address");
  }
  const who = await askInstaller(deps, req, named, fresh.access_token, undefined);
  const tokens = {
    accessToken: fresh.access_token,
    refreshToken: fresh.refresh_token,
    expiresAt: new Date(
      fresh.expires ? fresh.expires * 1000 : Date.now() + fresh.expires_in * 1000,
    ),
  };
  const answeredServer = allowedServerEndpoint(
    fresh.server_endpoint,
    deps.config.BITRIX_ALLOWED_OAUTH_HOSTS,
  );
  return { address: named, who, tokens, serverEndpoint: answeredServer ?? serverEndpoint };
}

/**
 * Binds placements, events and the external line that are not bound yet, with the portal's
 * stored tokens (at install, and again on ONAPPUPDATE: an update removes every binding).
 */
export async function bindApp(deps: BindDeps, portal: Portal) {
  const client = await deps.bitrix.clients.forPortal(portal);
  const urls = handlerUrls(deps.config.APP_BASE_URL);
  const { results, errors } = await client.batch({
    placements: { method: "placement.get" },
    events: { method: "event.get" },
    lines: { method: "telephony.externalLine.get" },
  });
  const failed = Object.values(errors)[0];
  if (failed) throw new UpstreamError("bitrix24", `reading bindings failed: ${failed.code}`);
  const placements = (results.placements ?? []) as { placement: string; handler: string }[];
  const events = (results.events ?? []) as { event: string; handler: string }[];
  const lines = (results.lines ?? []) as { NUMBER: string }[];
  const hasPlacement = (code: string, handler: string) =>
    placements.some((p) => p.placement === code && p.handler === handler);
  const hasEvent = (event: string, handler: string) =>
    events.some((e) => e.event.toUpperCase() === event && e.handler === handler);

  const calls: Record<string, { method: string; params?: Record<string, unknown> }> = {};
  const errorToken = await deps.portals.issueErrorToken(portal.id);
  const errorHandlerUrl = `${urls.placementError}?${new URLSearchParams({
    member_id: portal.memberId,
    token: errorToken,
  })}`;
  // The background worker's options (the error handler secret) change on every install, and
  // only one general handler is allowed: replace it.
  if (placements.some((p) => p.placement === "PAGE_BACKGROUND_WORKER")) {
    calls.unbindWorker = {
      method: "placement.unbind",
      params: { PLACEMENT: "PAGE_BACKGROUND_WORKER" },
    };
  }
  calls.bindWorker = {
    method: "placement.bind",
    params: {
      PLACEMENT: "PAGE_BACKGROUND_WORKER",
      HANDLER: urls.background,
      TITLE: "WebRTC SIP phone",
      OPTIONS: { errorHandlerUrl },
    },
  };
  if (!hasPlacement("LEFT_MENU", urls.app)) {
    calls.bindMenu = {
      method: "placement.bind",
      params: {
        PLACEMENT: "LEFT_MENU",
        HANDLER: urls.app,
        TITLE: "SIP phone",
        LANG_ALL: {
          ru: { TITLE: "SIP-телефон" },
          en: { TITLE: "SIP phone" },
        },
      },
    };
  }
  const wanted: [string, string][] = [
    ["ONAPPINSTALL", urls.installEvent],
    ["ONAPPUPDATE", urls.callback],
    ["ONAPPUNINSTALL", urls.callback],
    ["ONEXTERNALCALLSTART", urls.callback],
  ];
  for (const [event, handler] of wanted) {
    if (!hasEvent(event, handler)) {
      calls[`event_${event}`] = { method: "event.bind", params: { event, handler } };
    }
  }
  if (!lines.some((l) => l.NUMBER === EXTERNAL_LINE.NUMBER)) {
    calls.line = {
      method: "telephony.externalLine.add",
      params: { ...EXTERNAL_LINE, CRM_AUTO_CREATE: portal.settings.crmCreate ? "Y" : "N" },
    };
  }
  const bound = await client.batch(calls);
  const bindError = Object.entries(bound.errors).find(([key]) => key !== "unbindWorker");
  if (bindError) {
    throw new UpstreamError("bitrix24", `binding failed (${bindError[0]}: ${bindError[1].code})`);
  }
  await deps.portals.setExternalLine(portal.id, EXTERNAL_LINE.NUMBER);
}

/** What an app page POST may carry that the portal confirmed by verifying its AUTH_ID. */
export interface AdminPageFields {
  AUTH_ID: string;
  AUTH_EXPIRES?: number;
  REFRESH_ID?: string;
  APPLICATION_TOKEN?: string;
}

/** What adopting an administrator's page needs. */
export interface AdminPageDeps {
  portals: Pick<PortalRepo, "setApplicationToken" | "recordEvent" | "saveTokens">;
  changes: Pick<PortalChanges, "changed">;
}

/**
 * After an administrator's page load was verified with the portal: stores the page's
 * APPLICATION_TOKEN when the portal has none (the single ONAPPINSTALL was lost), and the page's
 * token pair when the server-side pair is dead or missing. An employee's page stores nothing.
 * Returns whether the portal has a server-side pair afterwards.
 */
export async function adoptAdminPage(
  deps: AdminPageDeps,
  user: FrameUser,
  fields: AdminPageFields,
): Promise<{ serverTokens: boolean }> {
  if (!user.isAdmin) return { serverTokens: Boolean(user.portal.tokenExpiresAt) };
  const { portal } = user;
  if (fields.APPLICATION_TOKEN) {
    if (await deps.portals.setApplicationToken(portal.id, fields.APPLICATION_TOKEN)) {
      deps.changes.changed(portal);
      await deps.portals.recordEvent(portal, "app_token_from_page", { userId: user.userId });
      log.info("bitrix24 application token from an administrator's page", {
        memberId: portal.memberId,
      });
    }
  }
  if (portal.tokenExpiresAt) return { serverTokens: true };
  if (!fields.REFRESH_ID) return { serverTokens: false };
  await deps.portals.saveTokens(portal.id, {
    accessToken: fields.AUTH_ID,
    refreshToken: fields.REFRESH_ID,
    expiresAt: new Date(Date.now() + (fields.AUTH_EXPIRES ?? 3600) * 1000),
  });
  deps.changes.changed(portal);
  await deps.portals.recordEvent(portal, "tokens_renewed", { userId: user.userId });
  log.info("bitrix24 server-side tokens renewed from an administrator's page", {
    memberId: portal.memberId,
  });
  return { serverTokens: true };
}
