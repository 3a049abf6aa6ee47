/**
 * The secrets provider contract: where the app gets its Bitrix24 app credentials, its
 * database URL (in production) and the keys that encrypt secrets at rest. Two
 * implementations: `local.ts` (env + a generated key file, the embedded default) and
 * `vault.ts` (HashiCorp Vault, AppRole + KV v2).
 *
 * @module
 */

/** Application secrets held by the provider (all optional: a local app has no client id). */
export interface AppSecrets {
  /** Marketplace app client id. */
  bitrixClientId?: string;
  /** Marketplace app client secret. */
  bitrixClientSecret?: string;
  /** Database URL, when the provider (Vault) holds it rather than the environment. */
  databaseUrl?: string;
}

/** Encryption keys by id (base64 of 32 raw bytes) and the id new values are sealed with. */
export interface KeyRing {
  active: string;
  keys: Record<string, string>;
}

/** What `/readyz` reports for the provider. */
export interface ProviderHealth {
  ok: boolean;
  /** Why it is not ok (never contains a secret). */
  reason?: string;
}

/** A source of application secrets and encryption keys. */
export interface SecretsProvider {
  readonly kind: "local" | "vault";
  /** The app secrets; cached by the provider, last good value served if the backend blips. */
  appSecrets(): Promise<AppSecrets>;
  /** The key ring for encryption at rest. */
  keyRing(): Promise<KeyRing>;
  /** Live check of the backend (Vault health + token lookup; local: key readable). */
  health(): Promise<ProviderHealth>;
  /** Stops background renewal and revokes tokens where that applies. */
  close(): Promise<void>;
}
