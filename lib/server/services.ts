/**
 * The composition root: the app's long-lived services, opened once at start from the parsed
 * config (the secrets provider, the database (migrated), the sealer for secrets at rest, the
 * repositories, the Bitrix24 collaborators, the portal-change notification and the metrics),
 * each handed the narrow collaborators it declares. Only the entry points (main.ts, app.ts,
 * tasks, benchmarks) and tests import this module (tests/layout_test.ts checks it).
 *
 * @module
 */
import { type Config, ConfigError } from "./config.ts";
import { openDatabase } from "./db/client.ts";
import { PortalRepo } from "./db/portals.ts";
import { SipAccountRepo } from "./db/sip_accounts.ts";
import { CallRepo } from "./db/calls.ts";
import { CallRetention } from "./db/call_retention.ts";
import { lazySealer, type Sealer } from "./secrets/crypto.ts";
import { LocalSecrets } from "./secrets/local.ts";
import type { SecretsProvider } from "./secrets/provider.ts";
import { log } from "./log.ts";
import { PortalClients } from "./bitrix/portal_clients.ts";
import { FrameAuthenticator } from "./bitrix/frame_auth.ts";
import { EventAuthenticator } from "./bitrix/events.ts";
import { PortalBudget } from "./bitrix/portal_budget.ts";
import { CallSync } from "./bitrix/call_sync.ts";
import { CallerLookup } from "./bitrix/caller_lookup.ts";
import { Uninstaller } from "./bitrix/uninstall.ts";
import { ConcurrencyLimit } from "./concurrency_limit.ts";
import { PortalChanges } from "./portal_changes.ts";
import { Metrics } from "./metrics.ts";
import { CachedReadiness } from "./readiness.ts";
import { CallOutBudget, INSTALL_CHECK_BUDGET } from "./rate_limit.ts";
import type { AppServices } from "./state.ts";
import { PushHub, type PushHubOptions } from "./push/hub.ts";

/** Default database of the embedded mode. */
const DEFAULT_DATABASE_URL = "pglite:./data/pg";

/** First installs confirmed with Bitrix24 at once (each is an unauthenticated call out). */
const MAX_FIRST_INSTALL_CHECKS = 4;

/** Everything request handlers and background loops use, and the services' lifecycle. */
export interface Services extends AppServices {
  sealer: Sealer;
  /** Resolves once migrations have been applied (retried in the background until they are). */
  migrated: Promise<void>;
  /** Deletes old calls per portal's retention setting (started next to the sync loop). */
  retention: CallRetention;
  close(): Promise<void>;
}

/** Builds the secrets provider the config names; Vault counts its logins into `counters`. */
export async function openSecrets(
  config: Config,
  counters?: Metrics["vault"],
): Promise<SecretsProvider> {
  if (config.SECRETS === "vault") {
    const { vaultSecretsFromConfig } = await import("./secrets/vault.ts");
    return vaultSecretsFromConfig(config, { counters });
  }
  return new LocalSecrets({
    keyFile: config.LOCAL_KEY_FILE,
    encryptionKey: config.ENCRYPTION_KEY,
    bitrixClientId: config.BITRIX_CLIENT_ID,
    bitrixClientSecret: config.BITRIX_CLIENT_SECRET,
  });
}

/**
 * The database URL: `DATABASE_URL` from the environment, else the one the secrets provider
 * holds (Vault), else the embedded default.
 */
export async function resolveDatabaseUrl(config: Config, secrets: SecretsProvider) {
  if (config.DATABASE_URL) return config.DATABASE_URL;
  if (secrets.kind === "vault") {
    const { databaseUrl } = await secrets.appSecrets();
    if (databaseUrl) return databaseUrl;
  }
  return DEFAULT_DATABASE_URL;
}

/** Opens every service; migrations run in the background and retry until they succeed. */
export async function openServices(
  config: Config,
  opts: {
    secrets?: SecretsProvider;
    /** Bitrix24 retry timings (tests shorten them). */
    bitrix?: {
      /** Retries of rate-limited calls inside the SDK, and their base delay. */
      maxRetries?: number;
      retryDelayMs?: number;
      /** Delay before the next sync attempt of a failed call row, and a claimed row's lease. */
      syncBackoffMs?: (attempts: number) => number;
      /** The same while the portal refuses the app (payment, `invalid_client`). */
      syncBlockedBackoffMs?: (blockedForMs: number) => number;
      syncLeaseMs?: number;
      /** Each portal's share of Bitrix24's rate limit the sync keeps to (default Bitrix24's own). */
      syncRate?: { perSecond: number; burst: number };
      /** Delay before asking the portal again about a pending uninstall. */
      uninstallRetryMs?: (attempt: number) => number;
      /** How long a frame user's admin flag and activity are trusted (default 5 minutes). */
      frameRecheckMs?: number;
    };
    /** Push channel timings and limits (tests shorten them). */
    push?: PushHubOptions;
  } = {},
): Promise<Services> {
  const metrics = new Metrics();
  const secrets = opts.secrets ?? await openSecrets(config, metrics.vault);
  // With the database URL in Vault, start-up waits for Vault (sealed, unreachable) to answer.
  const url = (await retryForever(
    "reading the database URL from the secrets provider",
    () => resolveDatabaseUrl(config, secrets),
  ))!;
  // With Vault the Market credentials are not in the environment: check the code here.
  if (secrets.kind === "vault" && !config.BITRIX_APP_CODE) {
    const app = await retryForever("reading the app secrets", () => secrets.appSecrets());
    if (app?.bitrixClientId) {
      await secrets.close();
      throw new ConfigError(
        "invalid configuration: BITRIX_APP_CODE: required for a Market app " +
          "(its client id is in Vault): its symbolic code, e.g. vendor.sipphone (not set)",
      );
    }
  }
  if (url.startsWith("pglite:./") || url.startsWith("pglite:data")) {
    await Deno.mkdir(url.slice("pglite:".length), { recursive: true });
  }
  const database = await openDatabase(url, { poolSize: config.DATABASE_POOL_SIZE });
  const sealer = lazySealer(() => secrets.keyRing());
  let closed = false;
  let applied = !config.MIGRATE_ON_START;
  const migrated = config.MIGRATE_ON_START
    ? retryForever("database migration", () => database.migrate(), () => closed)
      .then(() => void (applied = true))
    : Promise.resolve();
  const portals = new PortalRepo(database.db, sealer);
  const calls = new CallRepo(database.db);
  const changes = new PortalChanges();
  const clients = new PortalClients(
    { config, database, portals, secrets, changes, counters: metrics.oauth },
    opts.bitrix,
  );
  const callSync = new CallSync({ calls, portals, clients, counters: metrics.bitrixSync }, {
    backoffMs: opts.bitrix?.syncBackoffMs,
    blockedBackoffMs: opts.bitrix?.syncBlockedBackoffMs,
    leaseMs: opts.bitrix?.syncLeaseMs,
    concurrency: config.SYNC_CONCURRENCY,
    budget: new PortalBudget(opts.bitrix?.syncRate, config.PORTAL_CLIENT_CACHE_SIZE),
  });
  const retention = new CallRetention(database.db);
  const push = new PushHub(database, opts.push);
  // Streams of an uninstalled portal end on this instance (other instances hear of it when
  // their own uninstall check or the stream's next ticket fails).
  changes.onChange((change) => {
    if (change.uninstalled) push.closeStreams(change.portalId);
  });
  // The stream's listener needs the tables: started once migrations are in place.
  migrated.then(() => closed ? undefined : push.start());
  const uninstaller = new Uninstaller(
    { portals, clients, changes },
    opts.bitrix?.uninstallRetryMs,
  );
  return {
    config,
    secrets,
    database,
    sealer,
    portals,
    sipAccounts: new SipAccountRepo(database.db, sealer),
    calls,
    bitrix: {
      clients,
      frameAuth: new FrameAuthenticator({ config, portals, secrets, changes, clients }, {
        recheckMs: opts.bitrix?.frameRecheckMs ?? config.FRAME_RECHECK_SECONDS * 1000,
      }),
      eventAuth: new EventAuthenticator({ portals, changes }),
      firstInstalls: new ConcurrencyLimit(
        MAX_FIRST_INSTALL_CHECKS,
        "too many installations are being checked; retry shortly",
      ),
      callSync,
      callers: new CallerLookup({ clients }),
      uninstaller,
      installChecks: new CallOutBudget(INSTALL_CHECK_BUDGET),
    },
    changes,
    metrics,
    push,
    migrated,
    retention,
    isMigrated: () => applied,
    readiness: new CachedReadiness({ database, secrets, isMigrated: () => applied }),
    async close() {
      closed = true;
      await callSync.stop();
      await retention.stop();
      uninstaller.stop();
      await push.stop();
      await database.close();
      await secrets.close();
    },
  };
}

/** Runs `fn` until it succeeds (or `stopped()`), backing off up to 30 s between attempts. */
async function retryForever<T>(
  what: string,
  fn: () => Promise<T>,
  stopped: () => boolean = () => false,
): Promise<T | undefined> {
  for (let attempt = 1;; attempt++) {
    try {
      const value = await fn();
      if (attempt > 1) log.info(`${what} succeeded`, { attempt });
      return value;
    } catch (err) {
      if (stopped()) return undefined;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn(`${what} failed; retrying`, { attempt, delayMs: delay, error: err });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
