/**
 * REST clients acting for installed portals with the stored (installing admin's) tokens. The
 * refresh runs on `expired_token` only, single-flight across every process sharing the
 * database (an advisory lock per portal): under the lock the stored pair is re-read, and if
 * another process already rotated it, that pair is used; otherwise the token endpoint is called
 * and the rotated pair is stored before anything uses it.
 *
 * @module
 */
import type { HandlerRefreshAuth } from "@bitrix24/b24jssdk";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { Portal, PortalRepo, PortalTokens } from "../db/portals.ts";
import type { SecretsProvider } from "../secrets/provider.ts";
import { UnauthorizedError, UnavailableError, UpstreamError } from "../errors.ts";
import { log } from "../log.ts";
import { refreshTokens, tokenUrlFor } from "./oauth.ts";
import { BitrixApiError, RestClient } from "./rest.ts";

/** A 401 this soon after this process's own refresh came from a request sent before it. */
const RECENT_REFRESH_MS = 10_000;

/** Counters an operator can alert on (exported in /metrics). */
export const oauthStats = { refreshes: 0, refreshFailures: 0, refreshesSkippedByLock: 0 };

/** Creates and caches one REST client per portal. */
export class PortalClients {
  private readonly clients = new Map<string, Promise<RestClient>>();
  /** The pair this process got from its last refresh of each portal, and when. */
  private readonly lastRefresh = new Map<string, { accessToken: string; at: number }>();

  constructor(
    private readonly deps: {
      config: Config;
      database: Database;
      portals: PortalRepo;
      secrets: SecretsProvider;
    },
    private readonly options: { maxRetries?: number; retryDelayMs?: number } = {},
  ) {}

  /** The client of `portal` (built from its stored tokens on first use). */
  forPortal(portal: Portal): Promise<RestClient> {
    let client = this.clients.get(portal.id);
    if (!client) {
      client = this.build(portal);
      this.clients.set(portal.id, client);
      client.catch(() => this.clients.delete(portal.id));
    }
    return client;
  }

  /** Forgets the cached client (after uninstall or re-install). */
  forget(portalId: string): void {
    this.clients.delete(portalId);
  }

  /** The client id and secret used to refresh `portal`'s tokens. */
  async credentialsFor(portal: Portal): Promise<{ clientId: string; clientSecret: string }> {
    if (portal.appKind === "local") {
      const local = await this.deps.portals.getLocalCredentials(portal.id);
      if (!local) throw new UnavailableError("the local app's credentials are not saved yet");
      return local;
    }
    const secrets = await this.deps.secrets.appSecrets();
    if (!secrets.bitrixClientId || !secrets.bitrixClientSecret) {
      throw new UnavailableError("the app's client id and secret are not configured");
    }
    return { clientId: secrets.bitrixClientId, clientSecret: secrets.bitrixClientSecret };
  }

  private async build(portal: Portal): Promise<RestClient> {
    const tokens = await this.deps.portals.getTokens(portal.id);
    if (!tokens) throw new UnauthorizedError("the portal has no tokens (app not installed)");
    const client: RestClient = new RestClient({
      memberId: portal.memberId,
      domain: portal.domain,
      clientEndpoint: portal.clientEndpoint,
      serverEndpoint: portal.serverEndpoint ?? "https://oauth.bitrix.info/rest/",
      ...tokens,
      refresh: () => this.refresh(portal, client.currentAccessToken() ?? tokens.accessToken),
      ...this.options,
    });
    return client;
  }

  private refresh(portal: Portal, failedAccessToken: string): Promise<HandlerRefreshAuth> {
    return this.deps.database.withLock(`oauth-refresh:${portal.id}`, async () => {
      const stored = await this.deps.portals.getTokens(portal.id);
      if (!stored) throw new UnauthorizedError("the portal has no tokens (app not installed)");
      // Someone already rotated the pair: another process (the stored token is not the one that
      // failed), or this one moments ago (a request that left with the old token came back 401
      // after the client had switched to the new one).
      const last = this.lastRefresh.get(portal.id);
      const justRefreshed = last?.accessToken === stored.accessToken &&
        Date.now() - last.at < RECENT_REFRESH_MS;
      if (
        (stored.accessToken !== failedAccessToken || justRefreshed) &&
        stored.expiresAt.getTime() > Date.now()
      ) {
        oauthStats.refreshesSkippedByLock++;
        return toHandlerAuth(portal, stored);
      }
      const tokenUrl = tokenUrlFor(portal.serverEndpoint, {
        override: this.deps.config.BITRIX_OAUTH_URL,
        allowedHosts: this.deps.config.BITRIX_ALLOWED_OAUTH_HOSTS,
      });
      if (!tokenUrl) {
        throw new UpstreamError("bitrix24", "the portal's OAuth server is not on the allow-list");
      }
      try {
        const fresh = await refreshTokens(
          tokenUrl,
          await this.credentialsFor(portal),
          stored.refreshToken,
        );
        const next: PortalTokens = {
          accessToken: fresh.access_token,
          refreshToken: fresh.refresh_token,
          expiresAt: new Date(
            fresh.expires ? fresh.expires * 1000 : Date.now() + fresh.expires_in * 1000,
          ),
        };
        await this.deps.portals.saveTokens(portal.id, next);
        this.lastRefresh.set(portal.id, { accessToken: next.accessToken, at: Date.now() });
        oauthStats.refreshes++;
        log.info("bitrix24 tokens refreshed", { memberId: portal.memberId });
        return toHandlerAuth(portal, next);
      } catch (err) {
        oauthStats.refreshFailures++;
        log.warn("bitrix24 token refresh failed", { memberId: portal.memberId, error: err });
        if (err instanceof BitrixApiError && err.code === "invalid_grant") {
          // Dead for good (unused for 180 days, or its user deactivated): the next
          // administrator's page load stores a new pair.
          await this.deps.portals.dropDeadTokens(portal.id);
          await this.deps.portals.recordEvent(portal, "tokens_dead");
          this.forget(portal.id);
        }
        throw err;
      }
    });
  }
}

function toHandlerAuth(portal: Portal, tokens: PortalTokens): HandlerRefreshAuth {
  const expires = Math.floor(tokens.expiresAt.getTime() / 1000);
  const auth: HandlerRefreshAuth = {
    access_token: tokens.accessToken,
    refresh_token: tokens.refreshToken,
    expires: String(expires),
    expires_in: String(Math.max(0, expires - Math.floor(Date.now() / 1000))),
    client_endpoint: portal.clientEndpoint,
    server_endpoint: portal.serverEndpoint ?? "https://oauth.bitrix.info/rest/",
    member_id: portal.memberId,
    scope: portal.scope ?? "",
    status: "L",
    domain: portal.domain,
  };
  return auth;
}
