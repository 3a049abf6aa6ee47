/**
 * What a portal does around an app page load, installation and removal: the POST fields of a
 * frame load (reference §1.2, CORE app.layout template), the installer flow with
 * `installFinish`, the server-to-server ONAPPINSTALL of apps without UI, an app update
 * (ONAPPUPDATE) and ONAPPUNINSTALL.
 *
 * @module
 */
import { z } from "zod";
import { eventAuth, eventPayload, fireEvent, firstAdmin, postEvent } from "./events.ts";
import { randomHex } from "./ids.ts";
import type { EventRecord } from "./records.ts";
import type { PortalState, TokenSet } from "./state.ts";

/** Input of `pageLoad`. */
export const pageLoadSchema = z.object({
  /** The app page (installer, DEFAULT page, or a placement handler). */
  handlerUrl: z.url(),
  /** Current user; default: the first administrator. */
  userId: z.number().int().positive().optional(),
  placement: z.string().min(1).default("DEFAULT"),
  /** PLACEMENT_OPTIONS; the portal adds `URI` for non-DEFAULT placements. */
  placementOptions: z.record(z.string(), z.unknown()).optional(),
  /**
   * `core`: the fields of the CORE template; `docs`: plus SERVER_ENDPOINT, APPLICATION_TOKEN and
   * APPLICATION_SCOPE, which only the Aug-2026 docs list (⚠ unverified on live portals).
   */
  frameFields: z.enum(["core", "docs"]).default("core"),
});

/** Input of `pageLoad`. */
export type PageLoadInput = z.input<typeof pageLoadSchema>;

/** A frame load: the URL with its query and the form fields the hidden form POSTs. */
export interface PageLoad {
  /** handlerUrl plus `DOMAIN`, `PROTOCOL`, `LANG`, `APP_SID`. */
  url: string;
  appSid: string;
  /** `DOMAIN|PROTOCOL|APP_SID`, the iframe name the SDKs read. */
  frameName: string;
  /** Form body fields. */
  fields: Record<string, string>;
  /** The current user's tokens behind AUTH_ID/REFRESH_ID. */
  tokens: TokenSet;
  /** POSTs the form to `url` like the portal's hidden form (no redirects followed). */
  post(): Promise<Response>;
}

/** Builds the POST of an app page load for a user. */
export function pageLoad(state: PortalState, input: PageLoadInput): PageLoad {
  const p = pageLoadSchema.parse(input);
  const userId = p.userId ?? firstAdmin(state);
  const grant = state.issue(userId);
  const tokens = state.tokenSet(grant);
  const appSid = randomHex(16);
  const query = new URLSearchParams({
    DOMAIN: state.endpoints.domain,
    PROTOCOL: state.endpoints.url.startsWith("https:") ? "1" : "0",
    LANG: state.options.language,
    APP_SID: appSid,
  });
  const fields: Record<string, string> = {
    AUTH_ID: tokens.accessToken,
    AUTH_EXPIRES: String(tokens.expiresIn),
    REFRESH_ID: tokens.refreshToken,
    member_id: state.memberId,
    status: state.app.status,
    PLACEMENT: p.placement,
  };
  const options = p.placement === "DEFAULT"
    ? p.placementOptions
    : { ...p.placementOptions, URI: p.placementOptions?.URI ?? "/" };
  if (options && Object.keys(options).length) fields.PLACEMENT_OPTIONS = JSON.stringify(options);
  if (p.frameFields === "docs") {
    fields.SERVER_ENDPOINT = tokens.serverEndpoint;
    fields.APPLICATION_TOKEN = state.app.applicationToken;
    fields.APPLICATION_SCOPE = tokens.scope;
  }
  const url = `${p.handlerUrl}${p.handlerUrl.includes("?") ? "&" : "?"}${query}`;
  return {
    url,
    appSid,
    frameName: `${query.get("DOMAIN")}|${query.get("PROTOCOL")}|${appSid}`,
    fields,
    tokens,
    post: () =>
      fetch(url, { method: "POST", body: new URLSearchParams(fields), redirect: "manual" }),
  };
}

/** Input of `installApp`. */
export const installAppSchema = z.object({
  /** Installer page (app with UI) or installation handler (app without UI). */
  handlerUrl: z.url(),
  /** Installing administrator; default: the first administrator. */
  userId: z.number().int().positive().optional(),
  /** False: an app without UI, installed at once by a server-to-server ONAPPINSTALL. */
  ui: z.boolean().default(true),
  /** A marketplace app card's "installation event handler URL" (gets ONAPPINSTALL on finish). */
  eventHandlerUrl: z.url().optional(),
  frameFields: z.enum(["core", "docs"]).default("core"),
});

/** Input of `installApp`. */
export type InstallAppInput = z.input<typeof installAppSchema>;

/** What `installApp` did. */
export interface InstallResult {
  /** The installer page load (apps with UI); POST it to run the installer. */
  page: PageLoad | null;
  /** ONAPPINSTALL deliveries made right away (apps without UI). */
  events: EventRecord[];
}

function installData(state: PortalState): Record<string, string> {
  return {
    VERSION: String(state.app.version),
    ACTIVE: "Y",
    INSTALLED: "Y",
    LANGUAGE_ID: state.options.language,
  };
}

/**
 * Starts (re)installing the app as an administrator would. Event handlers and placements of a
 * previous installation are dropped; after an uninstall the app gets a new application_token.
 */
export async function installApp(
  state: PortalState,
  input: InstallAppInput,
): Promise<InstallResult> {
  const p = installAppSchema.parse(input);
  const userId = p.userId ?? firstAdmin(state);
  if (!state.users.require(userId).admin) throw new Error("only an administrator installs apps");
  const app = state.app;
  if (app.removed) app.applicationToken = randomHex(16);
  app.removed = false;
  app.installerId = userId;
  app.installEventUrl = p.eventHandlerUrl ?? null;
  state.eventHandlers.length = 0;
  state.placements.length = 0;
  if (p.ui) {
    app.installed = false;
    return {
      page: pageLoad(state, { handlerUrl: p.handlerUrl, userId, frameFields: p.frameFields }),
      events: [],
    };
  }
  app.installed = true;
  const auth = eventAuth(state, { userId, withRefreshToken: true });
  const payload = eventPayload(state, "ONAPPINSTALL", installData(state), auth);
  return { page: null, events: [await postEvent(state, p.handlerUrl, payload)] };
}

/**
 * What the portal does on the frame's `installFinish()`: marks the app installed and sends
 * ONAPPINSTALL (to the app card's URL, then to handlers bound during installation). A second
 * call does nothing, as outside the installer.
 */
export async function finishInstall(state: PortalState): Promise<EventRecord[]> {
  const app = state.app;
  if (app.installed || app.removed) return [];
  app.installed = true;
  const actor = app.installerId ?? firstAdmin(state);
  const sent: EventRecord[] = [];
  if (app.installEventUrl) {
    const auth = eventAuth(state, { userId: actor, withRefreshToken: true });
    const payload = eventPayload(state, "ONAPPINSTALL", installData(state), auth);
    sent.push(await postEvent(state, app.installEventUrl, payload));
  }
  return [...sent, ...await fireEvent(state, "ONAPPINSTALL", installData(state), actor)];
}

/**
 * Removes the app: handlers and placements are deleted and every token stops working, then
 * ONAPPUNINSTALL (no tokens) goes to the handlers that were bound for it. As on a real portal
 * the event is queued after the app is deleted, so the app's tokens are already refused when it
 * arrives (which lets the app confirm the event with the portal).
 */
export async function uninstallApp(
  state: PortalState,
  opts: { clean?: boolean } = {},
): Promise<EventRecord[]> {
  const data = { LANGUAGE_ID: state.options.language, CLEAN: opts.clean ? 1 : 0 };
  const wasInstalled = state.app.installed && !state.app.removed;
  const targets = state.eventHandlers.filter((h) => h.event === "ONAPPUNINSTALL" && !h.offline);
  state.app.installed = false;
  state.app.removed = true;
  state.eventHandlers.length = 0;
  state.placements.length = 0;
  state.tokens.revokeAll();
  if (!wasInstalled) return [];
  const sent: EventRecord[] = [];
  for (const h of targets) {
    const auth = eventAuth(state, { userId: null, withRefreshToken: false });
    sent.push(
      await postEvent(state, h.handler, eventPayload(state, "ONAPPUNINSTALL", data, auth, h.id)),
    );
  }
  return sent;
}

/**
 * Updates the app to its next version as the portal does: every event handler and placement
 * of the app is removed ("set them from scratch", DOCS `events/event-bind.md`), then
 * ONAPPUPDATE (`VERSION`, `PREVIOUS_VERSION`, `LANGUAGE_ID`, tokens of the acting
 * administrator with a refresh token) goes to the URLs that were bound for it.
 */
export async function updateApp(
  state: PortalState,
  opts: { userId?: number } = {},
): Promise<EventRecord[]> {
  const app = state.app;
  if (!app.installed || app.removed) throw new Error("the app is not installed");
  const userId = opts.userId ?? firstAdmin(state);
  if (!state.users.require(userId).admin) throw new Error("only an administrator updates apps");
  const targets = state.eventHandlers.filter((h) => h.event === "ONAPPUPDATE" && !h.offline);
  state.eventHandlers.length = 0;
  state.placements.length = 0;
  const previous = app.version;
  app.version = previous + 1;
  const data = {
    VERSION: String(app.version),
    PREVIOUS_VERSION: String(previous),
    LANGUAGE_ID: state.options.language,
  };
  const sent: EventRecord[] = [];
  for (const h of targets) {
    const auth = eventAuth(state, { userId: h.authType || userId, withRefreshToken: true });
    sent.push(
      await postEvent(state, h.handler, eventPayload(state, "ONAPPUPDATE", data, auth, h.id)),
    );
  }
  return sent;
}
