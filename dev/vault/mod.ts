/**
 * The Vault test server for tests and local runs: a real HTTP server speaking Vault's API
 * shapes (AppRole, tokens, KV v2, seal/init/unseal, policies, fault injection) with a manual
 * clock.
 *
 * @example
 * ```ts
 * const vault = startVaultTestServer({ approleMounts: ["approle"] });
 * await vault.admin("POST", "auth/approle/role/app", { token_policies: ["app"] });
 * await vault.advance(3_600_000); // an hour later, without sleeping
 * await vault.close();
 * ```
 *
 * @module
 */
export {
  type RecordedRequest,
  startVaultTestServer,
  type VaultFault,
  VaultTestServer,
  type VaultTestServerOptions,
} from "./server.ts";
export { ManualClock } from "./clock.ts";
