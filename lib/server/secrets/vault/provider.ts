/**
 * `VaultSecrets`, the `SecretsProvider` that reads the app's secrets and key ring from KV v2
 * through a `VaultClient`, caching each value and refreshing it in the background.
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../../config.ts";
import { UnavailableError } from "../../errors.ts";
import { log as rootLog } from "../../log.ts";
import type { AppSecrets, KeyRing, ProviderHealth, SecretsProvider } from "../provider.ts";
import { type Clock, systemClock } from "./clock.ts";
import { type KvSecret, trimSlashes, VaultClient, type VaultClientOptions } from "./client.ts";

const log = rootLog.child({ component: "vault" });

const appKvSchema = z.object({
  bitrix_client_id: z.string().min(1).optional(),
  bitrix_client_secret: z.string().min(1).optional(),
  database_url: z.string().min(1).optional(),
});

const base64Key = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "32 bytes, base64");
const cryptoKvSchema = z.object({
  keys: z.record(z.string().min(1), base64Key),
  active: z.string().min(1),
}).refine((ring) => ring.active in ring.keys, { path: ["active"], message: "not in keys" });

/** Options for `VaultSecrets`: the client's options plus where the secrets live in KV v2. */
export interface VaultSecretsOptions extends VaultClientOptions {
  /** KV v2 mount. @defaultValue "secret" */
  kvMount?: string;
  /** Folder under the mount holding `app` and `crypto`. @defaultValue "bitrix-app" */
  kvPath?: string;
  /** Age after which a cached value is re-read in the background. @defaultValue 300000 */
  refreshMs?: number;
}

/**
 * One cached KV value: loaded on first use (callers wait), then served from memory and
 * refreshed in the background when older than `refreshMs`. A failed refresh keeps the last
 * good value; a failed first load throws (fail closed).
 */
class CachedValue<T> {
  #value?: T;
  #loadedAt = 0;
  #flight?: Promise<T>;

  constructor(
    private readonly label: string,
    private readonly load: () => Promise<T>,
    private readonly clock: Clock,
    private readonly refreshMs: number,
  ) {}

  async get(): Promise<T> {
    if (this.#value === undefined) return await this.#refresh();
    if (this.clock.now() - this.#loadedAt >= this.refreshMs) {
      this.#refresh().catch(() => {}); // logged in #refresh; the last good value is served
    }
    return this.#value;
  }

  /** Settles when any in-flight load is done. */
  async idle(): Promise<void> {
    await this.#flight?.catch(() => {});
  }

  #refresh(): Promise<T> {
    this.#flight ??= this.load().then(
      (value) => {
        this.#value = value;
        this.#loadedAt = this.clock.now();
        return value;
      },
      (err) => {
        const reason = err instanceof Error ? err.message : "unexpected error";
        if (this.#value !== undefined) {
          log.warn("vault.secrets.stale", { secret: this.label, reason });
        } else {
          log.error("vault.secrets.unavailable", { secret: this.label, reason });
        }
        throw err instanceof UnavailableError
          ? err
          : new UnavailableError(`secrets unavailable: ${reason}`, { cause: err });
      },
    ).finally(() => {
      this.#flight = undefined;
    });
    return this.#flight;
  }
}

/**
 * The Vault-backed `SecretsProvider`. KV v2 layout under `<kvMount>/data/<kvPath>/`:
 * `app` = `{ bitrix_client_id?, bitrix_client_secret?, database_url? }` (may be absent) and
 * `crypto` = `{ keys: { "1": "<base64 32 bytes>" }, active: "1" }` (required).
 */
export class VaultSecrets implements SecretsProvider {
  readonly kind = "vault" as const;
  /** The underlying client (exposed for health probes and tests). */
  readonly client: VaultClient;
  readonly #app: CachedValue<AppSecrets>;
  readonly #crypto: CachedValue<KeyRing>;

  constructor(options: VaultSecretsOptions) {
    this.client = new VaultClient(options);
    const mount = trimSlashes(options.kvMount ?? "secret");
    const base = trimSlashes(options.kvPath ?? "bitrix-app");
    const clock = options.clock ?? systemClock;
    const refreshMs = options.refreshMs ?? 300_000;
    this.#app = new CachedValue(
      "app",
      async () => {
        const secret = await this.client.readKv(mount, `${base}/app`);
        if (!secret) return {};
        const kv = parseKv(appKvSchema, secret, `${mount}/data/${base}/app`);
        return {
          bitrixClientId: kv.bitrix_client_id,
          bitrixClientSecret: kv.bitrix_client_secret,
          databaseUrl: kv.database_url,
        };
      },
      clock,
      refreshMs,
    );
    this.#crypto = new CachedValue(
      "crypto",
      async () => {
        const path = `${mount}/data/${base}/crypto`;
        const secret = await this.client.readKv(mount, `${base}/crypto`);
        if (!secret) throw new UnavailableError(`secrets unavailable: no key ring at ${path}`);
        return parseKv(cryptoKvSchema, secret, path);
      },
      clock,
      refreshMs,
    );
  }

  /** The app secrets from `<kvPath>/app` (empty when that secret does not exist). */
  appSecrets(): Promise<AppSecrets> {
    return this.#app.get();
  }

  /** The key ring from `<kvPath>/crypto`. */
  keyRing(): Promise<KeyRing> {
    return this.#crypto.get();
  }

  /** `sys/health` plus a token lookup. */
  health(): Promise<ProviderHealth> {
    return this.client.health();
  }

  /** Waits for background refreshes, stops renewal and revokes the token. */
  async close(): Promise<void> {
    await Promise.all([this.#app.idle(), this.#crypto.idle()]);
    await this.client.close();
  }
}

/** Validates a KV secret; the error names only the fields, never their values. */
function parseKv<T>(schema: z.ZodType<T>, secret: KvSecret, path: string): T {
  const result = schema.safeParse(secret.data);
  if (result.success) return result.data;
  const fields = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "(root)")))];
  throw new UnavailableError(
    `secrets unavailable: invalid ${fields.join(", ")} in ${path} (version ${secret.version})`,
  );
}

/** Builds `VaultSecrets` from the parsed configuration (`SECRETS=vault`). */
export function vaultSecretsFromConfig(
  config: Config,
  overrides: Partial<VaultSecretsOptions> = {},
): VaultSecrets {
  if (!config.VAULT_ADDR) throw new Error("VAULT_ADDR is required when SECRETS=vault");
  return new VaultSecrets({
    addr: config.VAULT_ADDR,
    roleId: config.VAULT_ROLE_ID,
    roleIdFile: config.VAULT_ROLE_ID_FILE,
    secretId: config.VAULT_SECRET_ID,
    secretIdFile: config.VAULT_SECRET_ID_FILE,
    approleMount: config.VAULT_APPROLE_MOUNT,
    kvMount: config.VAULT_KV_MOUNT,
    kvPath: config.VAULT_KV_PATH,
    ...overrides,
  });
}
