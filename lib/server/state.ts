/**
 * The typed request state and the route-module shape, Fresh's way: every route file exports a
 * `handler` object keyed by method (`define.handlers`) whose functions return either a
 * `Response` or the page's data (`page(data)`), and, for a page, a default-exported component
 * (`define.page`) that renders that data. `app.ts` mounts the handlers and renders the page.
 *
 * @module
 */
import type { Context } from "hono";
import type { Config } from "./config.ts";
import type { Database } from "./db/client.ts";
import type { CallRepo } from "./db/calls.ts";
import type { PortalRepo } from "./db/portals.ts";
import type { SipAccountRepo } from "./db/sip_accounts.ts";
import type { SecretsProvider } from "./secrets/provider.ts";
import type { PortalClients } from "./bitrix/portal_clients.ts";
import type { FrameAuthenticator } from "./bitrix/frame_auth.ts";
import type { EventAuthenticator } from "./bitrix/events.ts";
import type { CallSync } from "./bitrix/call_sync.ts";
import type { CallerLookup } from "./bitrix/caller_lookup.ts";
import type { Uninstaller } from "./bitrix/uninstall.ts";
import type { PortalChanges } from "./portal_changes.ts";
import type { ConcurrencyLimit } from "./concurrency_limit.ts";
import type { Metrics } from "./metrics.ts";
import type { CachedReadiness } from "./readiness.ts";
import type { CallOutBudget } from "./rate_limit.ts";
import type { Logger } from "./log.ts";
import type { ClientInfo } from "./proxy.ts";
import type { PushHub } from "./push/hub.ts";

/**
 * What handlers reach as `c.var.services` (built by `services.ts`, the composition root). The
 * use-case modules take narrow parts of it (`EventDeps`, `InstallDeps`, `WidgetDeps`…), which
 * this satisfies.
 */
export interface AppServices {
  config: Config;
  secrets: SecretsProvider;
  database: Database;
  portals: PortalRepo;
  sipAccounts: SipAccountRepo;
  calls: CallRepo;
  /** Bitrix24: REST clients per portal, frame and event authentication, call journal sync. */
  bitrix: {
    clients: PortalClients;
    frameAuth: FrameAuthenticator;
    eventAuth: EventAuthenticator;
    callSync: CallSync;
    /** Who is calling, from the portal's CRM (cached briefly per portal and number). */
    callers: CallerLookup;
    /** ONAPPUNINSTALL confirmed with the portal; unconfirmed ones kept pending. */
    uninstaller: Uninstaller;
    /** Caps the first-install checks with Bitrix24 running at once. */
    firstInstalls: ConcurrencyLimit;
    /** What install checks of unauthenticated requests may spend (`INSTALL_CHECK_BUDGET`). */
    installChecks: CallOutBudget;
  };
  /** Told of every portal write that cached answers depend on. */
  changes: PortalChanges;
  /** This app's counters (`/metrics`). */
  metrics: Metrics;
  /** The push channel to users' phones (streams, tickets, presence). */
  push: PushHub;
  /** Whether migrations have been applied. */
  isMigrated(): boolean;
  /** Readiness answers reused briefly for clients off this host (`/readyz`). */
  readiness: CachedReadiness;
}

/** Request-scoped variables every handler can read with `c.var`. */
export interface AppVariables {
  services: AppServices;
  log: Logger;
  requestId: string;
  /** The client's address and scheme (from a trusted proxy's headers when TRUST_PROXY is on). */
  client: ClientInfo;
}

/** The Hono environment of the app. */
export type AppEnv = { Variables: AppVariables };

/** The HTTP methods a route module may export. */
export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** The statuses a page may be rendered with. */
export type PageStatus = 200 | 400 | 401 | 403 | 404 | 500;

/** A handler's answer for the route's page: the data it renders, and the status. */
export interface PageAnswer<Data> {
  data: Data;
  status: PageStatus;
}

/** Answers with the route's page rendered from `data` (Fresh's `page()`). */
export function page<Data>(data: Data, status: PageStatus = 200): PageAnswer<Data> {
  return { data, status };
}

/** One method's handler: a response, or the data of the route's page. */
export type RouteHandler<Data = never> = (
  c: Context<AppEnv>,
) => Response | PageAnswer<Data> | Promise<Response | PageAnswer<Data>>;

/** A route module's handlers, keyed by method (Fresh's `handler` object). */
export type RouteHandlers<Data = never> = Partial<Record<Method, RouteHandler<Data>>>;

/** The page data a route's handlers produce. */
export type DataOf<Handlers> = Handlers extends RouteHandlers<infer Data> ? Data : never;

/** What a route's page component receives. */
export interface PageProps<Data> {
  data: Data;
}

/** Helpers that keep route modules typed (Fresh's `define`). */
export const define = {
  /** The route's handlers; `Data` is what they hand to the page. */
  handlers: <Data = never>(handlers: RouteHandlers<Data>): RouteHandlers<Data> => handlers,
  /** The route's page, typed by its handlers' data (`define.page<typeof handler>(…)`). */
  page: <Handlers extends RouteHandlers<unknown>, Rendered = unknown>(
    component: (props: PageProps<DataOf<Handlers>>) => Rendered,
  ): (props: PageProps<DataOf<Handlers>>) => Rendered => component,
};
