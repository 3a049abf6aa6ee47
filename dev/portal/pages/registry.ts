/**
 * What the portal pages remember between requests: one session per rendered page (its user and
 * the app frames it embeds), the installer in progress, app and user options kept by the frame
 * protocol, the per-user first-run flag, the PAGE_BACKGROUND_WORKER speed rule, open event
 * streams, and the records tests assert on (protocol log, frame load times, overtime reports).
 *
 * Access tokens and refresh tokens never reach the records.
 *
 * @module
 */
import type { ResolvedPortalOptions } from "../options.ts";

/** What an app frame is on the page. */
export type FrameRole = "worker" | "main" | "installer" | "slider";

/** The answer to `getInitData` (the fields the portal's `BX.rest.AppLayout` sends). */
export interface InitData {
  LANG: string;
  DOMAIN: string;
  PROTOCOL: number;
  PATH: string;
  AUTH_ID: string;
  AUTH_EXPIRES: string;
  REFRESH_ID: string;
  MEMBER_ID: string;
  FIRST_RUN: boolean;
  IS_ADMIN: boolean;
  INSTALL: boolean;
  USER_OPTIONS: Record<string, unknown>;
  APP_OPTIONS: Record<string, unknown>;
  PLACEMENT: string;
  PLACEMENT_OPTIONS: Record<string, unknown>;
}

/** One app frame of a page, as the browser script gets it. */
export interface FrameSpec {
  appSid: string;
  role: FrameRole;
  placement: string;
  /** The `placement.bind` row, for bound placements. */
  placementId: number | null;
  /** The handler URL without the portal's query. */
  handler: string;
  /** The form's action: the handler plus DOMAIN, PROTOCOL, LANG, APP_SID. */
  url: string;
  /** `scheme://host[:port]` of the handler; messages from any other origin are dropped. */
  origin: string;
  /** `DOMAIN|PROTOCOL|APP_SID`. */
  frameName: string;
  /** The hidden form's fields. */
  fields: Record<string, string>;
  init: InitData;
}

/** A rendered portal page. */
export interface PageSession {
  id: string;
  userId: number;
  lang: string;
  /** Path and query of the page (the `URI` of placement options). */
  uri: string;
  frames: Map<string, FrameSpec>;
  createdAt: number;
}

/** One line of the protocol log, written by the page's script. */
export interface PageLogEntry {
  /** Browser time, ms. */
  at: number;
  sessionId: string;
  userId: number;
  /**
   * `command`: a frame → portal message that was handled; `answer`: a late answer to one;
   * `event`: a placement event sent to bound frames; `dropped`: a message the portal ignored
   * (wrong origin, unknown APP_SID, unknown or denied command, bad JSON); `card`: the call card
   * opened or closed; `frame`: a frame was inserted.
   */
  kind: "command" | "answer" | "event" | "dropped" | "card" | "frame";
  /** Command name, event name (`BackgroundCallCard::…`), or card/frame action. */
  name: string;
  appSid?: string;
  placement?: string;
  params?: unknown;
  /** True when the portal answered (the answer is in `answer`; tokens are masked). */
  answered?: boolean;
  answer?: unknown;
  /** Why a message was dropped. */
  reason?: string;
  callId?: string;
  /** For events: how many bound frames it went to. */
  targets?: number;
}

/** One app frame load measured by the page (insert → iframe `load`). */
export interface FrameLoadRecord {
  sessionId: string;
  userId: number;
  appSid: string;
  role: FrameRole;
  placement: string;
  placementId: number | null;
  handler: string;
  ms: number;
  /** Over `maxLoadDelayMs` (PAGE_BACKGROUND_WORKER only). */
  overtime: boolean;
  /** Overtime loads of this placement today, this one included. */
  overtimeCount: number;
  /** The placement was deleted because of this load. */
  removed: boolean;
  /** Portal clock, ms. */
  at: number;
}

/** The POST of ERROR_PLACEMENT_LOADING_OVERTIME to a worker's errorHandlerUrl. */
export interface OvertimeReport {
  placementId: number;
  url: string;
  body: Record<string, string>;
  status: number | null;
  error?: string;
  at: number;
}

const MAX_SESSIONS = 500;
const MAX_LOG = 5000;
const SECRET_KEYS = new Set(["AUTH_ID", "REFRESH_ID", "access_token", "refresh_token"]);

/** Replaces token values with `***` (deeply) so that records hold no secrets. */
export function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k) ? "***" : maskSecrets(v)]),
    );
  }
  return value;
}

/** State and records of the portal pages. */
export class PageRegistry {
  readonly sessions = new Map<string, PageSession>();
  /** Handler URL of the installer of the installation in progress (app with UI). */
  installerUrl: string | null = null;
  /** The last installer used, a fallback for the DEFAULT page when `appUrl` is not set. */
  lastInstallerUrl: string | null = null;
  /** `setAppOption` values (APP_OPTIONS of later frames). */
  readonly appOptions: Record<string, unknown> = {};
  readonly #userOptions = new Map<number, Record<string, unknown>>();
  /** `userId:version` pairs whose frames sent `setInstall {install:true}`. */
  readonly #installSeen = new Set<string>();
  readonly #overtime = new Map<number, { day: string; count: number }>();
  readonly #log: PageLogEntry[] = [];
  readonly #loads: FrameLoadRecord[] = [];
  readonly #reports: OvertimeReport[] = [];
  readonly #streams = new Set<() => void>();

  constructor(readonly options: ResolvedPortalOptions["pages"]) {}

  /** Remembers a rendered page (the oldest are forgotten past a few hundred). */
  addSession(session: PageSession): void {
    this.sessions.set(session.id, session);
    if (this.sessions.size > MAX_SESSIONS) {
      this.sessions.delete(this.sessions.keys().next().value!);
    }
  }

  /** A user's `setUserOption` values. */
  userOptions(userId: number): Record<string, unknown> {
    let o = this.#userOptions.get(userId);
    if (!o) this.#userOptions.set(userId, o = {});
    return o;
  }

  /** FIRST_RUN of the user's next frame: no `setInstall` yet for this app version. */
  firstRun(userId: number, version: number): boolean {
    return !this.#installSeen.has(`${userId}:${version}`);
  }

  /** `setInstall`: saves (or clears) the user's install flag for this version. */
  setInstall(userId: number, version: number, install: boolean): void {
    const key = `${userId}:${version}`;
    install ? this.#installSeen.add(key) : this.#installSeen.delete(key);
  }

  /**
   * Counts an overtime load of a placement for the given day; returns today's count (the
   * counter starts again every day, as CORE's does).
   */
  countOvertime(placementId: number, day: string): number {
    const cur = this.#overtime.get(placementId);
    const next = cur && cur.day === day ? { day, count: cur.count + 1 } : { day, count: 1 };
    this.#overtime.set(placementId, next);
    return next.count;
  }

  /** Registers a closer for an open event stream; returns the unregister function. */
  addStream(close: () => void): () => void {
    this.#streams.add(close);
    return () => this.#streams.delete(close);
  }

  /** True once the portal is closing: no new event streams. */
  closed = false;

  /** Ends every open event stream (before the server shuts down). */
  closeStreams(): void {
    this.closed = true;
    for (const close of [...this.#streams]) close();
    this.#streams.clear();
  }

  /** @internal */
  addLog(entry: PageLogEntry): void {
    this.#log.push(maskSecrets(entry) as PageLogEntry);
    if (this.#log.length > MAX_LOG) this.#log.splice(0, this.#log.length - MAX_LOG);
  }

  /** @internal */
  addLoad(record: FrameLoadRecord): void {
    this.#loads.push(record);
  }

  /** @internal */
  addReport(report: OvertimeReport): void {
    this.#reports.push(report);
  }

  /**
   * The protocol log of every page: commands the frames sent and what the portal answered,
   * placement events, dropped messages, call card changes. Filter by kind and/or name.
   */
  log(filter: { kind?: PageLogEntry["kind"]; name?: string; sessionId?: string } = {}) {
    return this.#log.filter((e) =>
      (filter.kind === undefined || e.kind === filter.kind) &&
      (filter.name === undefined || e.name === filter.name) &&
      (filter.sessionId === undefined || e.sessionId === filter.sessionId)
    );
  }

  /** Frame load times, in the order the pages reported them. */
  frameLoads(): FrameLoadRecord[] {
    return [...this.#loads];
  }

  /** ERROR_PLACEMENT_LOADING_OVERTIME deliveries. */
  overtimeReports(): OvertimeReport[] {
    return [...this.#reports];
  }

  /** Forgets the records (not the sessions, options or counters). */
  clearRecords(): void {
    this.#log.length = 0;
    this.#loads.length = 0;
    this.#reports.length = 0;
  }
}
