/**
 * Everything the emulated portal knows: the app and its install state, users, tokens, CRM,
 * bound placements and event handlers, external lines, calls, the records and the faults.
 *
 * @module
 */
import { Clock } from "./clock.ts";
import { Crm, SEED_CRM } from "./crm.ts";
import { Faults } from "./faults.ts";
import { randomHex, randomToken } from "./ids.ts";
import type { ResolvedPortalOptions } from "./options.ts";
import { PageRegistry } from "./pages/registry.ts";
import { LeakyBucket } from "./rate_limit.ts";
import { Records } from "./records.ts";
import { isoSeconds } from "./rest/time.ts";
import { type Grant, TokenStore } from "./tokens.ts";
import { SEED_USERS, UserDirectory } from "./users.ts";

/** Where the portal and its OAuth server listen. */
export interface Endpoints {
  /** Portal origin, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** Portal host[:port] as sent in DOMAIN and `auth[domain]`. */
  domain: string;
  /** `<url>/rest/`. */
  clientEndpoint: string;
  /** OAuth server origin (stands in for https://oauth.bitrix.info). */
  oauthUrl: string;
  /** OAuth server host[:port], the `domain` of a refresh answer. */
  oauthDomain: string;
  /** `<oauthUrl>/rest/`. */
  serverEndpoint: string;
}

/** The app as the portal stores it. */
export interface AppState {
  id: number;
  clientId: string;
  clientSecret: string;
  code: string;
  type: "local" | "market";
  /** `L` for local apps, else the marketplace status. */
  status: string;
  version: number;
  scope: string[];
  /** Paid period over (REST and refreshes answer PAYMENT_REQUIRED). */
  paymentExpired: boolean;
  /** The OAuth server answers `invalid_client` whatever the credentials. */
  invalidClient: boolean;
  /** Installation finished (`installFinish` called, or an app without UI). */
  installed: boolean;
  /** Uninstalled: tokens are dead, no events. */
  removed: boolean;
  applicationToken: string;
  /** Administrator who started the last installation (the actor of ONAPPINSTALL). */
  installerId: number | null;
  /** The app card's "installation event handler URL", told to `installApp`. */
  installEventUrl: string | null;
}

/** A `placement.bind` registration. */
export interface PlacementBinding {
  id: number;
  placement: string;
  userId: number;
  handler: string;
  options: Record<string, unknown>;
  title: string;
  description: string;
  langAll: Record<string, { TITLE: string; DESCRIPTION: string; GROUP_NAME: string }>;
}

/** An `event.bind` registration. */
export interface EventHandlerBinding {
  id: number;
  /** Upper-case event name. */
  event: string;
  /** Empty for offline handlers. */
  handler: string;
  /** User whose tokens the event carries; 0 = the acting user. */
  authType: number;
  offline: boolean;
}

/** A `telephony.externalLine.*` line. */
export interface ExternalLine {
  id: number;
  number: string;
  name: string;
  crmAutoCreate: "Y" | "N";
}

/** `finish` data of an external call. */
export interface FinishedCall {
  statId: number;
  userId: number;
  duration: number;
  statusCode: string;
  failedReason: string;
  cost: number;
  costCurrency: string;
  vote: number | null;
  crmActivityId: number;
}

/** A registered external call. */
export interface ExternalCall {
  callId: string;
  externalCallId: string | null;
  userId: number;
  phoneNumber: string;
  lineNumber: string;
  type: number;
  startDate: string;
  crmEntityType: string | null;
  crmEntityId: number | null;
  createdLeadId: number | null;
  /** Users whose card is shown. */
  shownTo: Set<number>;
  /** Clock ms of registration (for the 30-minute de-duplication). */
  registeredAt: number;
  dedupeKey: string;
  finished?: FinishedCall;
  record?: { fileId: number; fileName: string; url?: string };
}

/** Tokens as handed to tests and app pages. */
export interface TokenSet {
  accessToken: string;
  refreshToken: string;
  /** Seconds. */
  expiresIn: number;
  /** Unix seconds. */
  expires: number;
  userId: number;
  scope: string;
  status: string;
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  applicationToken: string;
}

/** The mutable state of one emulated portal with one app. */
export class PortalState {
  readonly clock: Clock;
  readonly memberId: string;
  readonly app: AppState;
  readonly users: UserDirectory;
  readonly tokens: TokenStore;
  readonly crm = new Crm(SEED_CRM);
  readonly records = new Records();
  readonly faults = new Faults();
  readonly bucket: LeakyBucket | null;
  readonly placements: PlacementBinding[] = [];
  readonly eventHandlers: EventHandlerBinding[] = [];
  readonly lines: ExternalLine[] = [];
  readonly calls = new Map<string, ExternalCall>();
  /** The portal pages: sessions, installer, frame options, protocol log, frame load times. */
  readonly pages: PageRegistry;
  #nextId = 1;

  constructor(readonly options: ResolvedPortalOptions, readonly endpoints: Endpoints) {
    this.clock = new Clock(options.now);
    this.memberId = options.memberId ?? randomHex(16);
    this.users = new UserDirectory(options.users ?? SEED_USERS, isoSeconds(this.clock.now()));
    this.tokens = new TokenStore(this.clock, {
      access: options.accessTokenTtlSec,
      refresh: options.refreshTokenTtlSec,
    });
    this.bucket = options.rateLimit ? new LeakyBucket(options.rateLimit, this.clock) : null;
    this.app = createApp(options);
    this.pages = new PageRegistry(options.pages);
  }

  /** A fresh id for placements, handlers, lines, statistics rows, files. */
  nextId(): number {
    return this.#nextId++;
  }

  /** `ru_pro100`-style license code. */
  get license(): string {
    return `${this.options.language}_${this.options.plan}`;
  }

  /**
   * Issues a pair for a user with the app's scopes; with `otherApp` (a `local.…` code), a pair
   * of another local app on the portal, which `app.info` names by that code.
   */
  issue(userId: number, otherApp?: string): Grant {
    this.users.require(userId);
    return this.tokens.issue(userId, this.app.scope, otherApp);
  }

  /** A grant in the shape tests and pages use. */
  tokenSet(grant: Grant): TokenSet {
    return {
      accessToken: grant.accessToken,
      refreshToken: grant.refreshToken,
      expiresIn: this.tokens.expiresIn(grant),
      expires: Math.floor(grant.accessExpiresAt / 1000),
      userId: grant.userId,
      scope: grant.scope.join(","),
      status: grant.otherApp ? "L" : this.app.status,
      memberId: this.memberId,
      domain: this.endpoints.domain,
      clientEndpoint: this.endpoints.clientEndpoint,
      serverEndpoint: this.endpoints.serverEndpoint,
      applicationToken: this.app.applicationToken,
    };
  }
}

function digits(n: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => String(b % 10)).join("");
}

/** CORE `appInfo`: a local app's CODE is its client id; a Market app's is its symbolic code. */
function marketCode(type: "local" | "market", clientId: string, code?: string): string {
  if (type === "local") return code ?? clientId;
  if (code === clientId) throw new Error("a Market app's code is never its client id");
  return code ?? "vendor.sipphone";
}

function createApp(options: ResolvedPortalOptions): AppState {
  const a = options.app;
  const clientId = a.clientId ??
    `${a.type === "local" ? "local" : "app"}.${randomHex(7).slice(0, 13)}.${digits(8)}`;
  return {
    id: 1,
    clientId,
    clientSecret: a.clientSecret ?? (randomToken() + randomToken()).slice(0, 50),
    code: marketCode(a.type, clientId, a.code),
    type: a.type,
    status: a.type === "local" ? "L" : a.status,
    version: a.version,
    scope: a.scope,
    paymentExpired: a.paymentExpired,
    invalidClient: a.invalidClient,
    installed: options.installed,
    removed: false,
    applicationToken: randomHex(16),
    installerId: null,
    installEventUrl: null,
  };
}
