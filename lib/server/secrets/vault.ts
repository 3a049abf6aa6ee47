/**
 * HashiCorp Vault over plain `fetch`: AppRole login, background token renewal, KV v2 reads, and
 * `VaultSecrets`, the `SecretsProvider` that reads the app's secrets and key ring from KV. The
 * parts live in `vault/`: `errors.ts` (the typed `VaultError`), `http.ts` (one call, timeouts,
 * retries), `client.ts` (the API calls and the token's lifecycle), `provider.ts` (the cached
 * `SecretsProvider`), `clock.ts` (the injected time source).
 *
 * Behaviour (see `reference/vault.md` §1.11):
 * - AppRole credentials come from files on a shared volume (re-read on every login, so a rotated
 *   secret_id is picked up) or are given directly.
 * - The token is renewed at about 2/3 of its lease (with jitter); when it is not renewable or
 *   the renewal comes back shorter than asked (max TTL near), the client logs in again instead.
 * - A 403 on a data call causes one re-login and one retry; a second 403 is a policy error.
 * - Network errors, timeouts, 412, 429, 500, 502 and 503 are retried with bounded exponential
 *   backoff and jitter; 400, 404 and 405 never are.
 * - Nothing here logs tokens, secret ids, response bodies or secret values.
 *
 * @module
 */
export { type Clock, systemClock } from "./vault/clock.ts";
export { VaultError, type VaultErrorKind, vaultErrorOf } from "./vault/errors.ts";
export {
  type RetryOptions,
  vaultFetch,
  type VaultHttpOptions,
  type VaultRequest,
  vaultRequest,
  type VaultResponse,
} from "./vault/http.ts";
export {
  type KvSecret,
  type VaultCallOptions,
  VaultClient,
  type VaultClientOptions,
  vaultHealth,
} from "./vault/client.ts";
export {
  VaultSecrets,
  vaultSecretsFromConfig,
  type VaultSecretsOptions,
} from "./vault/provider.ts";
