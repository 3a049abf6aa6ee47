/**
 * REST clients acting for installed portals with the stored (installing admin's) tokens. The
 * refresh runs on `expired_token` only, single-flight across every process sharing the
 * database (an advisory lock per portal): under the lock the stored pair is re-read, and if
 * another process already rotated it, that pair is used; otherwise the token endpoint is called
 * and the rotated pair is stored before anything uses it.
 *
 * Clients are kept for the `PORTAL_CLIENT_CACHE_SIZE` most recently used portals (an LRU,
 * default 1,000; a b24jssdk client with its limiter is about 23 KB of heap): memory does not
 * grow with the number of installed portals. An evicted portal's next call builds its client
 * again (one read of its tokens); its limiter starts full then, and Bitrix24's own limit still
 * holds (`QUERY_LIMIT_EXCEEDED` is retried like any rate limit).
 *
 * @module
 */
import type { HandlerRefreshAuth } from "@bitrix24/b24jssdk";
import type { Config } from "../config.ts";
import type { Database } from "../db/client.ts";
import type { Portal, PortalRepo, PortalTokens } from "../db/portals.ts";
import type { SecretsProvider } from "../secrets/provider.ts";
import type { PortalChanges } from "../portal_changes.ts";
import { UnauthorizedError, UnavailableError, UpstreamError } from "../errors.ts";
import { log } from "../log.ts";
import { LruMap } from "../lru.ts";
import { allowedServerEndpoint, refreshTokens, tokenUrlFor } from "./oauth.ts";
import { checkPortalAddress } from "./portal_address.ts";
import { BitrixApiError, RestClient } from "./rest.ts";

/** A 401 this soon after this process's own refresh came from a request sent before it. */
const RECENT_REFRESH_MS = 10_000;

/** The token refreshes counted for an operator to alert on (exported in /metrics). */
export interface OAuthCounters {
  refreshes: number;
  refreshFailures: number;
}

/** What the REST clients need. */
export interface PortalClientsDeps {
  config: Pick<
    Config,
    | "BITRIX_ALLOWED_OAUTH_HOSTS"
    | "BITRIX_OAUTH_URL"
    | "BITRIX_ALLOW_INSECURE_PORTALS"
    | "PORTAL_CLIENT_CACHE_SIZE"
  >;
  /** The advisory lock that makes a refresh single-flight across processes. */
  database: Pick<Database, "withLock">;
  portals: PortalRepo;
  secrets: Pick<SecretsProvider, "appSecrets">;
  /** A changed portal's cached client is dropped (its tokens or address may be new). */
  changes: Pick<PortalChanges, "onChange">;
  counters: OAuthCounters;
}

/** Creates one REST client per portal and keeps the most recently used ones (see the module). */
export class PortalClients {
  private readonly clients: LruMap<string, Promise<RestClient>>;
  /** The pair this process got from its last refresh of each portal, and when. */
  private readonly lastRefresh: LruMap<string, { accessToken: string; at: number }>;

  constructor(
    private readonly deps: PortalClientsDeps,
    private readonly options: { maxRetries?: number; retryDelayMs?: number } = {},
  ) {
    this.clients = new LruMap(deps.config.PORTAL_CLIENT_CACHE_SIZE);
    this.lastRefresh = new LruMap(deps.config.PORTAL_CLIENT_CACHE_SIZE);
    deps.changes.onChange(({ portalId }) => this.clients.delete(portalId));
  }

  /** The client of `portal` (built from its stored tokens on first use). */
  forPortal(portal: Portal): Promise<RestClient> {
    let client = this.clients.get(portal.id);
    if (!client) {
      client = this.build(portal);
      this.clients.set(portal.id, client);
      // A failed build is not kept (only this one: a newer one may have replaced it).
      client.catch(() => {
        if (this.clients.peek(portal.id) === client) this.clients.delete(portal.id);
      });
    }
    return client;
  }

  /**
   * Stores the portal's OAuth server from a `server_endpoint` Bitrix24 sent (ONAPPINSTALL, an
   * administrator's page POST, a refresh answer) when it is allow-listed and new; refreshes then
   * go there (`oauth.bitrix24.tech` for Russian-region portals). Other values are ignored.
   */
  async noteServerEndpoint(portal: Portal, value: string | null | undefined): Promise<void> {
    const endpoint = allowedServerEndpoint(value, this.deps.config.BITRIX_ALLOWED_OAUTH_HOSTS);
    if (!endpoint || endpoint === portal.serverEndpoint) return;
    await this.deps.portals.setServerEndpoint(portal.id, endpoint);
    log.info("bitrix24 oauth server recorded", { memberId: portal.memberId, endpoint });
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
      relocate: (from) => this.relocate(portal, from),
      ...this.options,
    });
    return client;
  }

  /**
   * After the portal's stored address answered a redirect: the portal row with its current
   * address (see `relocate`), or undefined when it did not change.
   */
  async followMove(portal: Portal): Promise<Portal | undefined> {
    if (!(await this.relocate(portal, portal.clientEndpoint))) return undefined;
    return await this.deps.portals.findById(portal.id);
  }

  /**
   * The portal's current address after its old one answered a redirect: the stored one if a
   * refresh already recorded a move, else a refresh's `client_endpoint` (the OAuth server knows
   * where the portal is now). Undefined when the address did not change.
   */
  private async relocate(built: Portal, from: string) {
    let current = await this.deps.portals.findById(built.id);
    if (current && current.clientEndpoint === from) {
      const tokens = await this.deps.portals.getTokens(built.id);
      if (!tokens) return undefined;
      await this.refresh(built, tokens.accessToken, from);
      current = await this.deps.portals.findById(built.id);
    }
    const tokens = await this.deps.portals.getTokens(built.id);
    if (!current || !tokens || current.clientEndpoint === from) return undefined;
    this.clients.delete(built.id);
    return { clientEndpoint: current.clientEndpoint, domain: current.domain, tokens };
  }

  /**
   * A refresh answer's `client_endpoint` as the REST root to use: a public https host (any,
   * since the OAuth server vouches for it), or loopback when `BITRIX_ALLOW_INSECURE_PORTALS`;
   * undefined for anything else (IP literals, private names).
   */
  private acceptedClientEndpoint(value: string | undefined) {
    const address = checkPortalAddress(value ?? "", {
      portalHosts: [],
      allowLoopback: this.deps.config.BITRIX_ALLOW_INSECURE_PORTALS,
    }, true);
    return "refused" in address ? undefined : address;
  }

  /**
   * Refreshes the pair (see the module doc). With `movedFrom` (that address redirected) it
   * refreshes even a fresh pair, for the answer's `client_endpoint`, unless another call
   * already recorded a new address.
   */
  private refresh(
    built: Portal,
    failedAccessToken: string,
    movedFrom?: string,
  ): Promise<HandlerRefreshAuth> {
    return this.deps.database.withLock(`oauth-refresh:${built.id}`, async () => {
      // The stored row: its OAuth server or address may have changed since the client was built.
      const portal = await this.deps.portals.findById(built.id) ?? built;
      const stored = await this.deps.portals.getTokens(portal.id);
      if (!stored) throw new UnauthorizedError("the portal has no tokens (app not installed)");
      // Someone already rotated the pair: another process (the stored token is not the one that
      // failed), or this one moments ago (a request that left with the old token came back 401
      // after the client had switched to the new one).
      const last = this.lastRefresh.get(portal.id);
      const justRefreshed = last?.accessToken === stored.accessToken &&
        Date.now() - last.at < RECENT_REFRESH_MS;
      const alreadyMoved = movedFrom !== undefined && portal.clientEndpoint !== movedFrom;
      if (
        (alreadyMoved || (movedFrom === undefined &&
          (stored.accessToken !== failedAccessToken || justRefreshed))) &&
        stored.expiresAt.getTime() > Date.now()
      ) {
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
        this.deps.counters.refreshes++;
        log.info("bitrix24 tokens refreshed", { memberId: portal.memberId });
        await this.noteServerEndpoint(portal, fresh.server_endpoint);
        const moved = this.acceptedClientEndpoint(fresh.client_endpoint);
        if (moved && moved.clientEndpoint !== portal.clientEndpoint) {
          // The portal changed its address (DOCS change-domen.md): follow it from now on.
          await this.deps.portals.setClientEndpoint(portal.id, moved.clientEndpoint, moved.domain);
          this.clients.delete(portal.id);
          log.info("bitrix24 portal moved", { memberId: portal.memberId, domain: moved.domain });
        }
        return toHandlerAuth(portal, next);
      } catch (err) {
        this.deps.counters.refreshFailures++;
        log.warn("bitrix24 token refresh failed", { memberId: portal.memberId, error: err });
        if (err instanceof BitrixApiError && err.code === "invalid_grant") {
          // Dead for good (unused for 180 days, or its user deactivated): the next
          // administrator's page load stores a new pair.
          await this.deps.portals.dropDeadTokens(portal.id);
          await this.deps.portals.recordEvent(portal, "tokens_dead");
          this.clients.delete(portal.id);
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
