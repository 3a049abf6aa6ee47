/**
 * The app's long-lived services, opened once at start from the parsed config: the secrets
 * provider, the database (migrated), the sealer for secrets at rest and the repositories.
 *
 * @module
 */
import type { Config } from "./config.ts";
import { type Database, openDatabase } from "./db/client.ts";
import { PortalRepo } from "./db/portals.ts";
import { SipAccountRepo } from "./db/sip_accounts.ts";
import { CallRepo } from "./db/calls.ts";
import { lazySealer, type Sealer } from "./secrets/crypto.ts";
import { LocalSecrets } from "./secrets/local.ts";
import type { SecretsProvider } from "./secrets/provider.ts";
import { log } from "./log.ts";

/** Default database of the embedded mode. */
export const DEFAULT_DATABASE_URL = "pglite:./data/pg";

/** Everything request handlers and background loops use. */
export interface Services {
  config: Config;
  secrets: SecretsProvider;
  database: Database;
  sealer: Sealer;
  portals: PortalRepo;
  sipAccounts: SipAccountRepo;
  calls: CallRepo;
  /** Resolves once migrations have been applied (retried in the background until they are). */
  migrated: Promise<void>;
  /** Whether migrations have been applied. */
  isMigrated(): boolean;
  close(): Promise<void>;
}

/** Builds the secrets provider the config names. */
export async function openSecrets(config: Config): Promise<SecretsProvider> {
  if (config.SECRETS === "vault") {
    const { vaultSecretsFromConfig } = await import("./secrets/vault.ts");
    return vaultSecretsFromConfig(config);
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
  opts: { secrets?: SecretsProvider } = {},
): Promise<Services> {
  const secrets = opts.secrets ?? await openSecrets(config);
  const url = await resolveDatabaseUrl(config, secrets);
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
  return {
    config,
    secrets,
    database,
    sealer,
    portals: new PortalRepo(database.db, sealer),
    sipAccounts: new SipAccountRepo(database.db, sealer),
    calls: new CallRepo(database.db),
    migrated,
    isMigrated: () => applied,
    async close() {
      closed = true;
      await database.close();
      await secrets.close();
    },
  };
}

async function retryForever(what: string, fn: () => Promise<void>, stopped: () => boolean) {
  for (let attempt = 1;; attempt++) {
    try {
      await fn();
      if (attempt > 1) log.info(`${what} succeeded`, { attempt });
      return;
    } catch (err) {
      if (stopped()) return;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn(`${what} failed; retrying`, { attempt, delayMs: delay, error: err });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
