/**
 * A Bitrix24 portal emulator for tests and local development: REST (`/rest/*`), an OAuth
 * server with rotating refresh tokens, users, tokens, events to app handlers, install and
 * uninstall flows, the rate limit and fault injection, on loopback.
 *
 * @example
 * ```ts
 * const portal = await startPortal();
 * const t = portal.issueTokens({ userId: 1 });
 * await fetch(`${portal.url}/rest/user.current`, { method: "POST", body: JSON.stringify({ auth: t.accessToken }) });
 * portal.records.calls("user.current");
 * // In a browser: the portal page with the app's frames and the call card (see pages/mod.ts).
 * portal.pageUrl({ userId: 1, placement: "DEFAULT" });
 * await portal.close();
 * ```
 *
 * @module
 */
import { portalApp } from "./app.ts";
import { clickToCall, type ClickToCallInput } from "./click_to_call.ts";
import { deliverEvent, type DeliverEventInput, fireEvent, firstAdmin } from "./events.ts";
import type { FaultInput } from "./faults.ts";
import {
  finishInstall,
  installApp,
  type InstallAppInput,
  type InstallResult,
  type PageLoad,
  pageLoad,
  type PageLoadInput,
  uninstallApp,
  updateApp,
} from "./install.ts";
import { oauthApp } from "./oauth.ts";
import { type PortalOptions, portalOptionsSchema } from "./options.ts";
import type { PageRegistry } from "./pages/registry.ts";
import type { EventRecord, Records } from "./records.ts";
import type { HeldRequests } from "./rest/server.ts";
import { type Endpoints, PortalState, type TokenSet } from "./state.ts";
import type { PortalUser, UserInput } from "./users.ts";

export type { PortalOptions } from "./options.ts";
export type { CallRecord, EventRecord, OAuthRecord, Records } from "./records.ts";
export type { FaultInput } from "./faults.ts";
export type { DeliverEventInput } from "./events.ts";
export type { InstallAppInput, InstallResult, PageLoad, PageLoadInput } from "./install.ts";
export type { ClickToCallInput } from "./click_to_call.ts";
export type { Endpoints, PortalState, TokenSet } from "./state.ts";
export type { PortalUser, UserInput } from "./users.ts";
export type {
  FrameLoadRecord,
  OvertimeReport,
  PageLogEntry,
  PageRegistry,
} from "./pages/registry.ts";

/** Which portal page {@link Portal.pageUrl} points at. */
export interface PageUrlInput {
  /** Default: the first administrator. */
  userId?: number;
  /** `DEFAULT` (the app's main page), `LEFT_MENU`…; absent: the CRM contacts page. */
  placement?: string;
  /** The placement row (`placement.bind` id) when several are bound. */
  id?: number;
  /** `apps`: the applications page (install, reinstall, delete). */
  view?: "apps";
  /** Page language (default: the portal's). */
  lang?: string;
  /** False: no PAGE_BACKGROUND_WORKER frames on the page. */
  workers?: boolean;
}

/** A running portal emulator. */
export interface Portal extends Endpoints {
  memberId: string;
  /** App identity: client id/secret, CODE, current application_token. */
  readonly app: {
    clientId: string;
    clientSecret: string;
    code: string;
    applicationToken: string;
    installed: boolean;
  };
  /** Token endpoint URL (`<oauthUrl>/oauth/token/`), e.g. for BITRIX_OAUTH_URL. */
  tokenUrl: string;
  /** Everything received and sent. */
  records: Records;
  /** The live state (users, placements, handlers, lines, calls…), for assertions. */
  state: PortalState;
  /** The portal pages: protocol log, frame load times, overtime reports, installer, options. */
  pages: PageRegistry;
  /** URL of a portal page (open it in a browser: app frames, call card, click-to-call). */
  pageUrl(input?: PageUrlInput): string;
  /** Adds a user; returns it. */
  addUser(input: UserInput): PortalUser;
  /**
   * Changes a user, e.g. deactivates them (`active: false`: every REST call with their tokens
   * answers 401 `authorization_error`, their refresh tokens die) or demotes an administrator
   * (`admin: false`: `user.admin` answers false at once); returns the user.
   */
  updateUser(id: number, patch: Partial<UserInput>): PortalUser;
  /**
   * Issues a token pair for a user (default: the first administrator); `otherApp`: a pair of
   * another local app on this portal with that CODE (`local.…`), as its own frames get.
   */
  issueTokens(opts?: { userId?: number; otherApp?: string }): TokenSet;
  /** Makes every access token expired now; refresh tokens keep working. */
  expireAllTokens(): void;
  /** Makes every refresh token expired now. */
  expireRefreshTokens(): void;
  /** Moves the portal clock forward. */
  advanceTime(ms: number): void;
  /**
   * The portal changes its address (DOCS change-domen.md): it is served from a new port (and
   * `hostname`), the old address answers every request with a `status` redirect to the same
   * path there (a redirected POST may come back as a GET without its body), and refresh
   * answers, events and pages carry the new `client_endpoint`. Returns the new endpoints.
   */
  movePortal(opts?: { hostname?: string; status?: 301 | 302 | 307 | 308 }): Endpoints;
  /** Ends (true) or renews (false) the app's paid period: REST answers 402 PAYMENT_REQUIRED. */
  setPaymentExpired(expired: boolean): void;
  /** Makes the OAuth server refuse (true) or accept again (false) the app: `invalid_client`. */
  setInvalidClient(invalid: boolean): void;
  /** Injects a fault; see {@link FaultInput}. */
  setFault(fault: FaultInput): void;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** POSTs one event to a URL now (bound or not). */
  deliverEvent(input: DeliverEventInput): Promise<EventRecord>;
  /** Fires an event to the handlers bound with event.bind (acting user: default first admin). */
  fireEvent(
    event: string,
    data: Record<string, unknown>,
    opts?: { userId?: number | null },
  ): Promise<EventRecord[]>;
  /** The POST of an app page load (DEFAULT page or a placement) for a user. */
  pageLoad(input: PageLoadInput): PageLoad;
  /** Starts installing the app (see install.ts); the admin's portal page shows the installer. */
  installApp(input: InstallAppInput): Promise<InstallResult>;
  /** The frame's installFinish(): installs and sends ONAPPINSTALL to bound handlers. */
  finishInstall(): Promise<EventRecord[]>;
  /**
   * Updates the app to the next version: all its event handlers and placements are removed,
   * then ONAPPUPDATE goes to the handlers that were bound for it (acting user: default first
   * admin).
   */
  updateApp(opts?: { userId?: number }): Promise<EventRecord[]>;
  /** Uninstalls the app: all its tokens die, then ONAPPUNINSTALL goes to bound handlers. */
  uninstallApp(opts?: { clean?: boolean }): Promise<EventRecord[]>;
  /** CRM click-to-call: registers the call and fires ONEXTERNALCALLSTART. */
  clickToCall(input: ClickToCallInput): Promise<{ callId: string; events: EventRecord[] }>;
  /** Stops both servers (held `timeout` requests are answered 504 first). */
  close(): Promise<void>;
}

function origin(addr: Deno.NetAddr): { url: string; domain: string } {
  const domain = `${addr.hostname}:${addr.port}`;
  return { url: `http://${domain}`, domain };
}

/** Starts the portal and its OAuth server on loopback (free ports by default). */
export function startPortal(input: PortalOptions = {}): Promise<Portal> {
  const options = portalOptionsSchema.parse(input);
  let handlePortal: (req: Request) => Response | Promise<Response> = () =>
    new Response("starting", { status: 503 });
  let handleOAuth = handlePortal;
  const quiet = () => {};
  const portalServer = Deno.serve(
    { hostname: options.hostname, port: options.port, onListen: quiet },
    (req) => handlePortal(req),
  );
  const oauthServer = Deno.serve(
    {
      hostname: options.oauthHostname ?? options.hostname,
      port: options.oauthPort,
      onListen: quiet,
    },
    (req) => handleOAuth(req),
  );
  const p = origin(portalServer.addr);
  const o = origin(oauthServer.addr);
  const state = new PortalState(options, {
    url: p.url,
    domain: p.domain,
    clientEndpoint: `${p.url}/rest/`,
    oauthUrl: o.url,
    oauthDomain: o.domain,
    serverEndpoint: options.serverEndpoint ?? `${o.url}/rest/`,
  });
  const held: HeldRequests = new Set();
  const portal = portalApp(state, held);
  const movedServers: Deno.HttpServer[] = [];
  // Every address but the current one redirects to the same path at the current one.
  const serveAt = (url: string) => (req: Request) => {
    if (state.endpoints.url === url) return portal.fetch(req);
    const { pathname, search } = new URL(req.url);
    return new Response(null, {
      status: redirectStatus,
      headers: { location: `${state.endpoints.url}${pathname}${search}` },
    });
  };
  let redirectStatus = 301;
  const movePortal = (opts: { hostname?: string; status?: 301 | 302 | 307 | 308 } = {}) => {
    let handler: (req: Request) => Response | Promise<Response> = () =>
      new Response("starting", { status: 503 });
    const server = Deno.serve(
      { hostname: opts.hostname ?? options.hostname, port: 0, onListen: quiet },
      (req) => handler(req),
    );
    movedServers.push(server);
    const next = origin(server.addr);
    handler = serveAt(next.url);
    redirectStatus = opts.status ?? 301;
    Object.assign(state.endpoints, {
      url: next.url,
      domain: next.domain,
      clientEndpoint: `${next.url}/rest/`,
    });
    return { ...state.endpoints };
  };
  const oauth = oauthApp(state);
  handlePortal = serveAt(p.url);
  handleOAuth = (req) => oauth.fetch(req);
  const admin = () => firstAdmin(state);

  return Promise.resolve({
    ...state.endpoints,
    get url() {
      return state.endpoints.url;
    },
    get domain() {
      return state.endpoints.domain;
    },
    get clientEndpoint() {
      return state.endpoints.clientEndpoint;
    },
    memberId: state.memberId,
    app: {
      get clientId() {
        return state.app.clientId;
      },
      get clientSecret() {
        return state.app.clientSecret;
      },
      get code() {
        return state.app.code;
      },
      get applicationToken() {
        return state.app.applicationToken;
      },
      get installed() {
        return state.app.installed;
      },
    },
    tokenUrl: `${o.url}/oauth/token/`,
    records: state.records,
    state,
    pages: state.pages,
    pageUrl: (i = {}) => {
      const q = new URLSearchParams();
      if (i.placement) q.set("placement", i.placement);
      if (i.id !== undefined) q.set("id", String(i.id));
      if (i.view) q.set("view", i.view);
      if (i.lang) q.set("lang", i.lang);
      if (i.workers === false) q.set("workers", "0");
      const query = q.size ? `?${q}` : "";
      return `${p.url}/page/${i.userId ?? admin()}${query}`;
    },
    addUser: (u) => state.users.add(u),
    updateUser: (id, patch) => state.users.update(id, patch),
    issueTokens: (opts = {}) => state.tokenSet(state.issue(opts.userId ?? admin(), opts.otherApp)),
    expireAllTokens: () => state.tokens.expireAccessTokens(),
    expireRefreshTokens: () => state.tokens.expireRefreshTokens(),
    advanceTime: (ms) => state.clock.advance(ms),
    movePortal,
    setPaymentExpired: (expired) => void (state.app.paymentExpired = expired),
    setInvalidClient: (invalid) => void (state.app.invalidClient = invalid),
    setFault: (f) => state.faults.set(f, state.clock.now()),
    clearFaults: () => state.faults.clear(),
    deliverEvent: (i) => deliverEvent(state, i),
    fireEvent: (event, data, opts = {}) =>
      fireEvent(state, event, data, opts.userId === undefined ? admin() : opts.userId),
    pageLoad: (i) => pageLoad(state, i),
    installApp: async (i) => {
      const result = await installApp(state, i);
      state.pages.installerUrl = result.page ? i.handlerUrl : null;
      if (result.page) state.pages.lastInstallerUrl = i.handlerUrl;
      return result;
    },
    finishInstall: () => finishInstall(state),
    uninstallApp: (opts) => {
      state.pages.installerUrl = null;
      return uninstallApp(state, opts);
    },
    updateApp: (opts) => updateApp(state, opts),
    clickToCall: (i) => clickToCall(state, i),
    close: async () => {
      for (const release of [...held]) release();
      state.pages.closeStreams();
      await Promise.all([
        portalServer.shutdown(),
        oauthServer.shutdown(),
        ...movedServers.map((s) => s.shutdown()),
      ]);
    },
  });
}
