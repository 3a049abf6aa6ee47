/**
 * Options of {@link startPortal}: where it listens, the app's identity, token lifetimes, the rate
 * limit, users and the clock. Parsed with zod; every field has a default.
 *
 * @module
 */
import { z } from "zod";
import type { UserInput } from "./users.ts";

/** Identity of the one app installed on the emulated portal. */
export const appOptionsSchema = z.object({
  /** OAuth client id; generated in the portal's format (`local.…` / `app.…`) when absent. */
  clientId: z.string().min(1).optional(),
  clientSecret: z.string().min(1).optional(),
  /**
   * App CODE as `app.info` reports it: a local app's is its client id; a Market app's is a
   * symbolic code (default `vendor.sipphone`), never its client id (CORE `appInfo`).
   */
  code: z.string().min(1).optional(),
  /** Local (`STATUS` L) or marketplace app. */
  type: z.enum(["local", "market"]).default("local"),
  /** Marketplace status (F free, D demo, T trial, P paid, S subscription); local apps are L. */
  status: z.enum(["F", "D", "T", "P", "S"]).default("F"),
  version: z.number().int().positive().default(1),
  /** Scopes granted to the app, in order. */
  scope: z.array(z.string().min(1)).default(["crm", "user", "telephony", "placement", "im"]),
  /**
   * Paid period over: REST methods (but `app.info`, `user.current`, `user.admin`, `profile`,
   * `scope`) answer 402 `PAYMENT_REQUIRED`, and so does the token endpoint.
   */
  paymentExpired: z.boolean().default(false),
  /** The OAuth server no longer accepts the app's credentials: every refresh `invalid_client`. */
  invalidClient: z.boolean().default(false),
  /** App name in the portal's menus; default: a localized "SIP phone". */
  name: z.string().min(1).optional(),
});

/** Input of the app part of the options. */
export type AppOptions = z.input<typeof appOptionsSchema>;

/** Options of the portal pages. */
export const pageOptionsSchema = z.object({
  /**
   * A PAGE_BACKGROUND_WORKER frame loading (insert → iframe `load`) longer than this is an
   * overtime load (CORE `MAX_LOAD_DELAY`).
   */
  maxLoadDelayMs: z.number().int().min(0).default(5000),
  /** More overtime loads than this in a day delete the placement (CORE `MAX_OVERTIME_COUNT`). */
  maxOvertimeCount: z.number().int().min(0).default(10),
  /**
   * Placement events go to a frame no earlier than this after its `placementBindEvent`, so that
   * they reach the b24jssdk callback instead of resolving the bind promise (reference §E).
   */
  bindEventDelayMs: z.number().int().min(0).default(1000),
  /**
   * A page's click-to-call sends ONEXTERNALCALLSTART (REST event queue) and shows the card (pull)
   * on separate channels, in no guaranteed order (reference fact 9): `event-first` sends the
   * event and then shows the card, `card-first` shows the card and sends the event
   * `eventLagMs` later. Tests may change it on `portal.pages.options` at any time.
   */
  clickToCallOrder: z.enum(["event-first", "card-first"]).default("event-first"),
  eventLagMs: z.number().int().min(0).default(1500),
  /**
   * The `allow` attribute of the app's frames. Portal templates differ (reference fact 8): one
   * stored version grants `microphone` but not `autoplay`, so a frame the user never touched
   * cannot play sound (measured in Chromium: `play()` fails with NotAllowedError even after the
   * user clicked the page; with `autoplay *` it plays).
   */
  frameAllow: z.string().default("geolocation *; microphone *; camera *; autoplay *;"),
});

/** Options of the whole emulator. */
export const portalOptionsSchema = z.object({
  /** Loopback address of the portal (use 127.0.0.2 etc. to make it cross-site to the app). */
  hostname: z.string().min(1).default("127.0.0.1"),
  /** 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(0),
  /** Address of the separate OAuth server (the oauth.bitrix.info stand-in); defaults to hostname. */
  oauthHostname: z.string().min(1).optional(),
  oauthPort: z.number().int().min(0).max(65535).default(0),
  /**
   * The `server_endpoint` the portal reports (page POSTs' SERVER_ENDPOINT, events'
   * `auth[server_endpoint]`, refresh answers), to act as a portal of another region, e.g.
   * `https://oauth.bitrix24.tech/rest/` (Russia). Default: this emulator's OAuth server. Tokens
   * are still issued by the emulator's own OAuth server (`tokenUrl`).
   */
  serverEndpoint: z.url().optional(),
  /** Stable portal id; random when absent. */
  memberId: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  /** Portal language (LANG of pages, LANGUAGE_ID of app.info and events). */
  language: z.string().length(2).default("ru"),
  /** Tariff code without the language prefix, e.g. `pro100`, `ent250`. */
  plan: z.string().min(1).default("pro100"),
  /** Start with the app installed and its installation finished. */
  installed: z.boolean().default(true),
  accessTokenTtlSec: z.number().int().positive().default(3600),
  refreshTokenTtlSec: z.number().int().positive().default(180 * 24 * 3600),
  /** REST leaky bucket, or false to turn it off. */
  rateLimit: z.union([
    z.literal(false),
    z.object({
      drainPerSec: z.number().positive().default(2),
      burst: z.number().int().positive().default(50),
    }),
  ]).default({ drainPerSec: 2, burst: 50 }),
  app: appOptionsSchema.prefault({}),
  /** Users to start with instead of the seeded set. */
  users: z.array(z.custom<UserInput>((v) => typeof v === "object" && v !== null)).optional(),
  /** Source clock in ms (default `Date.now`); `advanceTime()` adds to it. */
  now: z.custom<() => number>((v) => typeof v === "function").optional(),
  /**
   * The app's main page (the handler URL of its settings, PLACEMENT `DEFAULT`) that the portal
   * pages embed; also the installer when `installUrl` is absent.
   */
  appUrl: z.url().optional(),
  /** The app's installer page ("initial installation path"), used by the page's Install button. */
  installUrl: z.url().optional(),
  /** The portal pages (`pages/`): frame load rules and event timing. */
  pages: pageOptionsSchema.prefault({}),
});

/** Input of {@link startPortal}. */
export type PortalOptions = z.input<typeof portalOptionsSchema>;

/** Parsed options. */
export type ResolvedPortalOptions = z.output<typeof portalOptionsSchema>;
