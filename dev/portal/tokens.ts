/**
 * OAuth token pairs issued by the emulated portal. Access tokens expire after a TTL; refresh
 * tokens rotate on every use (the old one stops working at once) and expire too.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import { randomToken } from "./ids.ts";

/** One issued pair and whom it belongs to. */
export interface Grant {
  accessToken: string;
  refreshToken: string;
  userId: number;
  /** Granted scopes, in the app's order. */
  scope: string[];
  /** Milliseconds since the epoch. */
  accessExpiresAt: number;
  refreshExpiresAt: number;
  /** Another local app on the portal this pair belongs to (its CODE), not the emulated app. */
  otherApp?: string;
}

/** Why a refresh token was refused. */
export type RefreshFailure = "unknown" | "expired" | "inactive";

/** Lifetimes in seconds. */
export interface TokenTtl {
  access: number;
  refresh: number;
}

/** Token table of one portal (one app). */
export class TokenStore {
  readonly #byAccess = new Map<string, Grant>();
  readonly #byRefresh = new Map<string, Grant>();
  /** Access tokens that existed before the app was uninstalled. */
  readonly #revoked = new Set<string>();

  constructor(private readonly clock: Clock, private readonly ttl: TokenTtl) {}

  /** Issues a new pair for `userId`. */
  issue(userId: number, scope: string[], otherApp?: string): Grant {
    const now = this.clock.now();
    const grant: Grant = {
      ...(otherApp ? { otherApp } : {}),
      accessToken: randomToken(),
      refreshToken: randomToken(),
      userId,
      scope: [...scope],
      accessExpiresAt: now + this.ttl.access * 1000,
      refreshExpiresAt: now + this.ttl.refresh * 1000,
    };
    this.#byAccess.set(grant.accessToken, grant);
    this.#byRefresh.set(grant.refreshToken, grant);
    return grant;
  }

  /** The grant of a live or expired access token, if it was ever issued and not revoked. */
  byAccessToken(token: string): Grant | undefined {
    return this.#byAccess.get(token);
  }

  /** True when the token was valid before {@link revokeAll}. */
  wasRevoked(token: string): boolean {
    return this.#revoked.has(token);
  }

  /** Seconds until the access token expires (0 when expired). */
  expiresIn(grant: Grant): number {
    return Math.max(0, Math.round((grant.accessExpiresAt - this.clock.now()) / 1000));
  }

  /** True when the access token's lifetime has passed. */
  isExpired(grant: Grant): boolean {
    return grant.accessExpiresAt <= this.clock.now();
  }

  /**
   * Exchanges a refresh token for a new pair; the old refresh token is forgotten. A token of a
   * user `mayRefresh` refuses (a deactivated one) dies: DOCS `events/index.md`.
   */
  rotate(
    refreshToken: string,
    mayRefresh: (userId: number) => boolean = () => true,
  ): Grant | RefreshFailure {
    const old = this.#byRefresh.get(refreshToken);
    if (!old) return "unknown";
    this.#byRefresh.delete(refreshToken);
    if (old.refreshExpiresAt <= this.clock.now()) return "expired";
    if (!mayRefresh(old.userId)) return "inactive";
    return this.issue(old.userId, old.scope, old.otherApp);
  }

  /** Makes every access token expired now (refresh tokens stay usable). */
  expireAccessTokens(): void {
    const past = this.clock.now() - 1;
    for (const g of this.#byAccess.values()) g.accessExpiresAt = Math.min(g.accessExpiresAt, past);
  }

  /** Makes every refresh token expired now. */
  expireRefreshTokens(): void {
    const past = this.clock.now() - 1;
    for (const g of this.#byRefresh.values()) {
      g.refreshExpiresAt = Math.min(g.refreshExpiresAt, past);
    }
  }

  /** Forgets every token (the app was uninstalled). */
  revokeAll(): void {
    for (const token of this.#byAccess.keys()) this.#revoked.add(token);
    this.#byAccess.clear();
    this.#byRefresh.clear();
  }
}
