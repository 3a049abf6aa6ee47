/**
 * Authentication of requests from the app's frames. The frame sends its `AUTH_ID` (the user's
 * access token) and `member_id`; the server calls the portal at the address **stored** for that
 * member (never a domain from the request) in one batch: `app.info` must name our app and say
 * it is installed, `user.current` gives the user id and whether the user is active,
 * `user.admin` the admin flag. Tokens not cached yet are limited per client address and per
 * portal (`SIGN_IN_BUDGET`).
 *
 * Two caches keep that from costing a portal call per request:
 *
 * - **Tokens**, by a hash of the token: who it belongs to, for the token's remaining life as
 *   the frame said it (`AUTH_EXPIRES`), at most an hour.
 * - **Users**, by portal and user id: the admin flag, trusted for one re-check interval
 *   (default 5 minutes). After that the next request of the user asks the portal again with
 *   its own token (`user.current`, `user.admin`), and every request of that user waits for that
 *   one answer. A token past its life is refused by the portal then (`expired_token`), a
 *   deactivated user's tokens all are (`authorization_error`), a demoted admin is an employee.
 *
 * A user's standing, per portal and user id:
 *
 * ```text
 *   (none) ──ask: a token verified──▶ fresh ──interval passed──▶ due
 *      ▲                                ▲                         │ the user's next request
 *      │                                └──── portal answered ────┤ asks (one call, shared)
 *      └─ portal: user deactivated, all their tokens refused ─────┤
 *                                                                 │ portal cannot be asked
 *                                                                 ▼
 *                        stale: the last answer holds until a second interval has passed,
 *                        the portal is asked again every 30 s; after that 502
 * ```
 *
 * @module
 */
import type { Config } from "../config.ts";
import type { Portal, PortalRepo } from "../db/portals.ts";
import { sha256Hex } from "../db/portals.ts";
import type { SecretsProvider } from "../secrets/provider.ts";
import type { PortalChanges } from "../portal_changes.ts";
import { UnauthorizedError, UpstreamError } from "../errors.ts";
import { CallOutBudget } from "../rate_limit.ts";
import { LruMap } from "../lru.ts";
import type { PortalClients } from "./portal_clients.ts";
import { BitrixApiError, RestClient } from "./rest.ts";

/** Who is calling, as verified with the portal. */
export interface FrameUser {
  portal: Portal;
  userId: number;
  isAdmin: boolean;
}

/** What `app.info` says about the app in a portal (the fields we check). */
export interface AppInfo {
  CODE?: string;
  ID?: number | string;
  INSTALLED?: boolean;
  STATUS?: string;
}

/** What telling our app from another needs: the Market code, else the local app's client id. */
export interface AppIdentityDeps {
  config: Pick<Config, "BITRIX_APP_CODE">;
  secrets: Pick<SecretsProvider, "appSecrets">;
}

/**
 * Whether `app.info`'s CODE names this app: a Market app's symbolic code (`BITRIX_APP_CODE`;
 * never its client id), else exactly the code recorded from the administrator's verified
 * `app.info` at install (a local app's code is its client id, `local.…`; another local app on
 * the same portal has another). Only a portal's first install, with nothing recorded yet, takes
 * any local app's code (and records it).
 */
export async function isOurApp(
  code: string | undefined,
  portal: Pick<Portal, "appKind" | "clientId" | "appCode"> | undefined,
  deps: AppIdentityDeps,
): Promise<boolean> {
  if (!code) return false;
  if (deps.config.BITRIX_APP_CODE) return code === deps.config.BITRIX_APP_CODE;
  // Portals installed before the code was recorded: the saved client id, if any.
  const recorded = portal?.appCode ?? portal?.clientId;
  if (recorded) return code === recorded;
  // Bitrix24 names local apps `local.<id>`.
  const { bitrixClientId } = await deps.secrets.appSecrets();
  return code.startsWith("local.") && (!bitrixClientId || portal?.appKind === "local");
}

/** What the portal says about a token (`whoIs`). */
export interface WhoIsAnswer {
  app: AppInfo;
  userId: number;
  isAdmin: boolean;
  /** `user.current`'s `ACTIVE` (false: the user has been deactivated). */
  active: boolean;
}

/** A portal's stored address, as `whoIs` needs it. */
export type PortalEndpoint = Pick<Portal, "memberId" | "domain" | "clientEndpoint">;

/** Calls `app.info`, `user.current` and `user.admin` with a user's token in one batch. */
export async function whoIs(endpoint: PortalEndpoint, accessToken: string): Promise<WhoIsAnswer> {
  const client = new RestClient({
    ...endpoint,
    serverEndpoint: "https://oauth.bitrix.info/rest/",
    accessToken,
    refreshToken: "",
    expiresAt: new Date(Date.now() + 3600_000),
    maxRetries: 1,
  });
  const { results, errors } = await client.batch({
    app: { method: "app.info" },
    user: { method: "user.current" },
    admin: { method: "user.admin" },
  });
  const failed = errors.app ?? errors.user ?? errors.admin;
  if (failed) throw failed;
  const user = results.user as { ID?: string | number; ACTIVE?: unknown } | undefined;
  const userId = Number(user?.ID);
  if (!Number.isInteger(userId) || userId <= 0) {
    throw new BitrixApiError("BAD_ANSWER", 502, "user.current gave no ID", "user.current");
  }
  return {
    app: (results.app ?? {}) as AppInfo,
    userId,
    isAdmin: results.admin === true || results.admin === "true",
    active: user?.ACTIVE !== false && user?.ACTIVE !== "N",
  };
}

/** A cached token: whose it is, or the portal's refusal of it; until `expiresAt`. */
type CacheEntry =
  | { portalId: string; userId: number; expiresAt: number }
  | { portalId: string; refused: string; expiresAt: number };

/** What the portal last said about a user (see the module's state diagram). */
interface Standing {
  isAdmin: boolean;
  /** When the portal said it. */
  checkedAt: number;
  /** The portal could not be asked: not before this time again. */
  retryAt?: number;
}

/** What asking the portal about a token gave. */
type Verdict =
  | { kind: "user"; userId: number; isAdmin: boolean }
  /** `user`: the token's user is deactivated, so every token of theirs is refused. */
  | { kind: "refused"; reason: string; scope: "token" | "user" }
  | { kind: "unreachable"; cause: unknown };

/**
 * The one 401 of frame authentication: the same for an unknown `member_id`, a refused token and
 * another app's token, so an answer never tells whether a portal is installed.
 */
const NOT_CONFIRMED = "the portal did not confirm this token";

/** How long a portal row is reused between requests (settings changes invalidate it here). */
const PORTAL_TTL_MS = 5_000;
/** How long a token the portal refused stays refused without asking again. */
const REFUSED_TTL_MS = 5 * 60_000;
/** The longest a token is trusted: Bitrix24's access tokens live an hour. */
const TOKEN_TTL_MS = 3600_000;
/** How long a user's standing is trusted before the portal is asked again. */
const RECHECK_MS = 5 * 60_000;
/** The pause before asking again a portal that could not be asked about a user. */
const RECHECK_RETRY_MS = 30_000;
/**
 * Portal calls for unknown tokens: a bucket per portal like Bitrix24's own (burst 50, 2 per
 * second), and a smaller one per client address, so forged tokens from one address cannot
 * empty the portal's. A token the portal accepts gives both back: only refused and failed
 * sign-ins stay spent, and genuine users never use up each other's budget.
 */
const SIGN_IN_BUDGET = {
  perClient: { burst: 20, perSecond: 0.5 },
  perPortal: { burst: 50, perSecond: 2 },
  message: "too many sign-ins at once; retry shortly",
};

/** What the frame authenticator needs. */
export interface FrameAuthDeps extends AppIdentityDeps {
  portals: Pick<PortalRepo, "findByMemberId">;
  /** A changed portal's cached row is dropped; an uninstalled one's answers as well. */
  changes: Pick<PortalChanges, "onChange">;
  /** Follows a portal that changed its address (its stored one redirects). */
  clients?: Pick<PortalClients, "followMove">;
  /**
   * Asks the portal about a token.
   * @defaultValue {@link whoIs}
   */
  whoIs?: (endpoint: PortalEndpoint, accessToken: string) => Promise<WhoIsAnswer>;
}

/** Limits and the clock of a {@link FrameAuthenticator}. */
export interface FrameAuthOptions {
  /**
   * Cached tokens, users and portal rows, each (least recently used forgotten first; about
   * 1 KB per token, user and portal). @defaultValue 10,000
   */
  maxEntries?: number;
  /** The longest a token is trusted. @defaultValue an hour */
  ttlMs?: number;
  /** How long a user's admin flag and activity are trusted. @defaultValue 5 minutes */
  recheckMs?: number;
  /** @defaultValue `Date.now` */
  now?: () => number;
}

/** Verifies frame credentials and caches the answers. */
export class FrameAuthenticator {
  private readonly cache: LruMap<string, CacheEntry>;
  private readonly pending = new Map<string, Promise<CacheEntry>>();
  private readonly standings: LruMap<string, Standing>;
  private readonly rechecks = new Map<string, Promise<Standing | undefined>>();
  private readonly portals: LruMap<string, { portal?: Portal; at: number }>;
  private readonly now: () => number;
  private readonly recheckMs: number;
  private readonly whoIs: NonNullable<FrameAuthDeps["whoIs"]>;
  private readonly signIns = new CallOutBudget(SIGN_IN_BUDGET);

  constructor(
    private readonly deps: FrameAuthDeps,
    private readonly options: FrameAuthOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    const maxEntries = options.maxEntries ?? 10_000;
    this.cache = new LruMap(maxEntries);
    this.standings = new LruMap(maxEntries);
    this.portals = new LruMap(maxEntries);
    this.recheckMs = options.recheckMs ?? RECHECK_MS;
    this.whoIs = deps.whoIs ?? whoIs;
    deps.changes.onChange(({ portalId, memberId, uninstalled }) => {
      if (uninstalled) this.forgetPortal(portalId);
      else this.refreshPortal(memberId);
    });
  }

  /**
   * The verified user for `authId` in `memberId`'s portal (`expiresInSec`: the token's
   * remaining life as the frame said it). Throws `UnauthorizedError` for an unknown portal, a
   * token the portal rejects, a token of another app or of a deactivated user,
   * `RateLimitedError` when the portal, or `clientAddress`, asks about too many new tokens, and
   * `UpstreamError` when the portal cannot be asked and nothing recent is known.
   */
  async verify(
    memberId: string,
    authId: string,
    expiresInSec: number | undefined,
    clientAddress: string,
  ): Promise<FrameUser> {
    const portal = await this.portalOf(memberId);
    if (!portal?.installed) throw new UnauthorizedError(NOT_CONFIRMED);
    const key = sha256Hex(`${memberId}\n${authId}`);
    let entry = this.cache.get(key);
    if (!entry || entry.expiresAt <= this.now()) {
      let inflight = this.pending.get(key);
      if (!inflight) {
        this.signIns.spend(clientAddress, portal.id);
        inflight = this.ask(portal, authId, expiresInSec);
        inflight.then((answer) => {
          if (!("refused" in answer)) this.signIns.giveBack(clientAddress, portal.id);
        }, () => {});
        this.pending.set(key, inflight);
        inflight.finally(() => this.pending.delete(key)).catch(() => {});
      }
      entry = await inflight;
      this.cache.set(key, entry);
    }
    if (entry.portalId !== portal.id) throw new UnauthorizedError(NOT_CONFIRMED);
    if ("refused" in entry) throw new UnauthorizedError(NOT_CONFIRMED, { cause: entry.refused });
    const standing = await this.standingOf(portal, entry.userId, key, authId);
    return { portal, userId: entry.userId, isAdmin: standing.isAdmin };
  }

  /**
   * The user's standing, asking the portal with this request's token when it is due (one
   * call per user at a time: concurrent requests wait for the same answer).
   */
  private async standingOf(
    portal: Portal,
    userId: number,
    key: string,
    authId: string,
  ): Promise<Standing> {
    const userKey = `${portal.id}:${userId}`;
    const known = this.standings.get(userKey);
    const now = this.now();
    if (known && now - known.checkedAt < this.recheckMs) return known;
    if (!known?.retryAt || known.retryAt <= now) {
      let inflight = this.rechecks.get(userKey);
      if (!inflight) {
        inflight = this.recheck(portal, userId, key, authId);
        this.rechecks.set(userKey, inflight);
        inflight.finally(() => this.rechecks.delete(userKey)).catch(() => {});
      }
      const fresh = await inflight;
      const mine = this.cache.get(key);
      if (mine && "refused" in mine) {
        throw new UnauthorizedError(NOT_CONFIRMED, { cause: mine.refused });
      }
      if (fresh) return fresh;
    }
    // Not answered: the portal could not be asked, or refused another token of the user.
    const last = this.standings.get(userKey);
    if (last && this.now() - last.checkedAt < 2 * this.recheckMs) return last;
    throw new UpstreamError("bitrix24", "the portal could not be asked about the user");
  }

  /** Asks the portal about the user with `authId`; undefined when it gave no new standing. */
  private async recheck(
    portal: Portal,
    userId: number,
    key: string,
    authId: string,
  ): Promise<Standing | undefined> {
    const verdict = await this.consult(portal, authId);
    const userKey = `${portal.id}:${userId}`;
    if (verdict.kind === "user" && verdict.userId === userId) {
      return this.keepStanding(userKey, verdict.isAdmin);
    }
    if (verdict.kind === "unreachable") {
      const known = this.standings.get(userKey);
      if (known) known.retryAt = this.now() + Math.min(RECHECK_RETRY_MS, this.recheckMs);
      return undefined;
    }
    if (verdict.kind === "refused" && verdict.scope === "user") {
      this.refuseUser(portal.id, userId, verdict.reason);
    } else {
      const reason = verdict.kind === "refused" ? verdict.reason : "the token names another user";
      this.cache.set(key, this.refusal(portal.id, reason));
    }
    return undefined;
  }

  /** Refuses every cached token of a user and forgets the user's standing. */
  private refuseUser(portalId: string, userId: number, reason: string): void {
    const theirs = [...this.cache].filter(([, entry]) =>
      entry.portalId === portalId && "userId" in entry && entry.userId === userId
    );
    for (const [key] of theirs) this.cache.set(key, this.refusal(portalId, reason));
    this.standings.delete(`${portalId}:${userId}`);
  }

  /** Drops every cached answer of a portal (on uninstall). */
  private forgetPortal(portalId: string): void {
    for (const [key, entry] of this.cache) if (entry.portalId === portalId) this.cache.delete(key);
    for (const key of this.standings.keys()) {
      if (key.startsWith(`${portalId}:`)) this.standings.delete(key);
    }
    for (const [memberId, row] of this.portals) {
      if (row.portal?.id === portalId) this.portals.delete(memberId);
    }
  }

  /** Forgets the cached row of a portal whose settings or credentials changed. */
  private refreshPortal(memberId: string): void {
    this.portals.delete(memberId);
  }

  private async portalOf(memberId: string): Promise<Portal | undefined> {
    const cached = this.portals.get(memberId);
    if (cached && this.now() - cached.at < PORTAL_TTL_MS) return cached.portal;
    const portal = await this.deps.portals.findByMemberId(memberId);
    this.portals.set(memberId, { portal, at: this.now() });
    return portal;
  }

  /** Verifies a token the cache does not know; the user's standing is fresh afterwards. */
  private async ask(portal: Portal, authId: string, expiresInSec?: number): Promise<CacheEntry> {
    const verdict = await this.consult(portal, authId);
    if (verdict.kind === "unreachable") {
      throw new UpstreamError("bitrix24", "the portal could not be asked", {
        cause: verdict.cause,
      });
    }
    if (verdict.kind === "refused") return this.refusal(portal.id, verdict.reason);
    this.keepStanding(`${portal.id}:${verdict.userId}`, verdict.isAdmin);
    const ttl = Math.min(
      this.options.ttlMs ?? TOKEN_TTL_MS,
      (expiresInSec && expiresInSec > 0 ? expiresInSec : 3600) * 1000,
    );
    return { portalId: portal.id, userId: verdict.userId, expiresAt: this.now() + ttl };
  }

  /** Asks the portal who `authId` is, following a portal that moved. */
  private async consult(portal: Portal, authId: string): Promise<Verdict> {
    let answer;
    try {
      answer = await this.whoIs(portal, authId).catch(async (err) => {
        const moved = err instanceof BitrixApiError && err.code === "PORTAL_MOVED" &&
          await this.deps.clients?.followMove(portal);
        if (!moved) throw err;
        this.refreshPortal(portal.memberId);
        return await this.whoIs(moved, authId);
      });
    } catch (err) {
      if (err instanceof BitrixApiError && err.code === "authorization_error") {
        // CORE `CRestUtil::makeAuth`: the token's user is not active.
        return { kind: "refused", reason: "the user is deactivated", scope: "user" };
      }
      if (err instanceof BitrixApiError && (err.unauthorized || err.status === 403)) {
        return { kind: "refused", reason: "the portal did not accept the token", scope: "token" };
      }
      return { kind: "unreachable", cause: err };
    }
    if (!answer.app.INSTALLED || !(await isOurApp(answer.app.CODE, portal, this.deps))) {
      return { kind: "refused", reason: "the token belongs to another app", scope: "token" };
    }
    if (!answer.active) {
      return { kind: "refused", reason: "the user is deactivated", scope: "user" };
    }
    return { kind: "user", userId: answer.userId, isAdmin: answer.isAdmin };
  }

  /** Records what the portal just said about a user. */
  private keepStanding(userKey: string, isAdmin: boolean): Standing {
    const standing: Standing = { isAdmin, checkedAt: this.now() };
    this.standings.set(userKey, standing);
    return standing;
  }

  private refusal(portalId: string, reason: string): CacheEntry {
    return { portalId, refused: reason, expiresAt: this.now() + REFUSED_TTL_MS };
  }
}
