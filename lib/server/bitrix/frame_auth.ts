/**
 * Authentication of requests from the app's frames. The frame sends its `AUTH_ID` (the user's
 * access token) and `member_id`; the server calls the portal at the address **stored** for that
 * member (never a domain from the request) in one batch: `app.info` must name our app and say
 * it is installed, `user.current` gives the user id, `user.admin` the admin flag. The answer is
 * cached by a hash of the token until the token expires (at most an hour), so a page costs one
 * portal call per token, not per request. Tokens not cached yet are limited per client address
 * and per portal (`SIGN_IN_BUDGET`).
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
 * never its client id), or a local app's code, which is its client id (`local.…`).
 */
export async function isOurApp(
  code: string | undefined,
  portal: Pick<Portal, "appKind" | "clientId"> | undefined,
  deps: AppIdentityDeps,
): Promise<boolean> {
  if (!code) return false;
  if (deps.config.BITRIX_APP_CODE) return code === deps.config.BITRIX_APP_CODE;
  if (portal?.clientId) return code === portal.clientId;
  // A local app whose credentials are not saved yet: Bitrix24 names local apps `local.<id>`.
  const { bitrixClientId } = await deps.secrets.appSecrets();
  return code.startsWith("local.") && (!bitrixClientId || portal?.appKind === "local");
}

/** Calls `app.info`, `user.current` and `user.admin` with a user's token in one batch. */
export async function whoIs(
  endpoint: { memberId: string; domain: string; clientEndpoint: string },
  accessToken: string,
): Promise<{ app: AppInfo; userId: number; isAdmin: boolean }> {
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
  const user = results.user as { ID?: string | number } | undefined;
  const userId = Number(user?.ID);
  if (!Number.isInteger(userId) || userId <= 0) {
    throw new BitrixApiError("BAD_ANSWER", 502, "user.current gave no ID", "user.current");
  }
  return {
    app: (results.app ?? {}) as AppInfo,
    userId,
    isAdmin: results.admin === true || results.admin === "true",
  };
}

/** A cached answer: the user, or the portal's refusal of the token. */
type CacheEntry =
  | { portalId: string; userId: number; isAdmin: boolean; expiresAt: number }
  | { portalId: string; refused: string; expiresAt: number };

/** How long a portal row is reused between requests (settings changes invalidate it here). */
const PORTAL_TTL_MS = 5_000;
/** How long a token the portal refused stays refused without asking again. */
const REFUSED_TTL_MS = 5 * 60_000;
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
}

/** Verifies frame credentials and caches the answers. */
export class FrameAuthenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<CacheEntry>>();
  private readonly portals = new Map<string, { portal?: Portal; at: number }>();
  private readonly signIns = new CallOutBudget(SIGN_IN_BUDGET);

  constructor(
    private readonly deps: FrameAuthDeps,
    private readonly options: { maxEntries?: number; ttlMs?: number } = {},
  ) {
    deps.changes.onChange(({ portalId, memberId, uninstalled }) => {
      if (uninstalled) this.forgetPortal(portalId);
      else this.refreshPortal(memberId);
    });
  }

  /**
   * The verified user for `authId` in `memberId`'s portal. Throws `UnauthorizedError` for an
   * unknown portal, a token the portal rejects or a token of another app, and
   * `RateLimitedError` when the portal, or `clientAddress`, asks about too many new tokens.
   */
  async verify(
    memberId: string,
    authId: string,
    expiresInSec: number | undefined,
    clientAddress: string,
  ): Promise<FrameUser> {
    const portal = await this.portalOf(memberId);
    if (!portal?.installed) throw new UnauthorizedError("unknown portal");
    const key = sha256Hex(`${memberId}\n${authId}`);
    let entry = this.cache.get(key);
    if (!entry || entry.expiresAt <= Date.now()) {
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
      this.remember(key, entry);
    }
    if (entry.portalId !== portal.id) throw new UnauthorizedError("token of another portal");
    if ("refused" in entry) throw new UnauthorizedError(entry.refused);
    return { portal, userId: entry.userId, isAdmin: entry.isAdmin };
  }

  /** Drops every cached answer of a portal (on uninstall). */
  private forgetPortal(portalId: string): void {
    for (const [key, entry] of this.cache) if (entry.portalId === portalId) this.cache.delete(key);
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
    if (cached && Date.now() - cached.at < PORTAL_TTL_MS) return cached.portal;
    const portal = await this.deps.portals.findByMemberId(memberId);
    if (this.portals.size >= (this.options.maxEntries ?? 10_000)) this.portals.clear();
    this.portals.set(memberId, { portal, at: Date.now() });
    return portal;
  }

  private async ask(portal: Portal, authId: string, expiresInSec?: number): Promise<CacheEntry> {
    let answer;
    const refused = (reason: string): CacheEntry => ({
      portalId: portal.id,
      refused: reason,
      expiresAt: Date.now() + REFUSED_TTL_MS,
    });
    try {
      answer = await whoIs(portal, authId).catch(async (err) => {
        const moved = err instanceof BitrixApiError && err.code === "PORTAL_MOVED" &&
          await this.deps.clients?.followMove(portal);
        if (!moved) throw err;
        this.refreshPortal(portal.memberId);
        return await whoIs(moved, authId);
      });
    } catch (err) {
      if (err instanceof BitrixApiError && (err.unauthorized || err.status === 403)) {
        return refused("the portal did not accept the token");
      }
      throw new UpstreamError("bitrix24", "the portal could not be asked", { cause: err });
    }
    if (!answer.app.INSTALLED || !(await isOurApp(answer.app.CODE, portal, this.deps))) {
      return refused("the token belongs to another app");
    }
    const ttl = Math.min(
      this.options.ttlMs ?? 3600_000,
      (expiresInSec && expiresInSec > 0 ? expiresInSec : 3600) * 1000,
    );
    return {
      portalId: portal.id,
      userId: answer.userId,
      isAdmin: answer.isAdmin,
      expiresAt: Date.now() + ttl,
    };
  }

  private remember(key: string, entry: CacheEntry): void {
    const max = this.options.maxEntries ?? 10_000;
    if (this.cache.size >= max) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(key, entry);
  }
}
