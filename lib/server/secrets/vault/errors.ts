/**
 * Vault's failures as one typed error: the kind (network, sealed, permission denied, …) decides
 * retries and health reasons; the status code and Vault's `errors` strings are kept for callers.
 *
 * @module
 */
import { z } from "zod";

/** What went wrong talking to Vault, independent of the exact status code. */
export type VaultErrorKind =
  | "network"
  | "timeout"
  | "sealed"
  | "uninitialized"
  | "unavailable"
  | "rate_limited"
  | "server"
  | "invalid_token"
  | "permission_denied"
  | "invalid_credentials"
  | "bad_request"
  | "not_found"
  | "bad_response"
  | "closed";

const KIND_TEXT: Record<VaultErrorKind, string> = {
  network: "vault unreachable",
  timeout: "vault request timed out",
  sealed: "vault sealed",
  uninitialized: "vault not initialized",
  unavailable: "vault unavailable",
  rate_limited: "vault rate limited the request",
  server: "vault internal error",
  invalid_token: "vault token invalid",
  permission_denied: "vault permission denied (check the app's policy)",
  invalid_credentials: "vault AppRole login refused (invalid role_id or secret_id)",
  bad_request: "vault rejected the request",
  not_found: "vault path not found",
  bad_response: "vault returned an unexpected response",
  closed: "vault client closed",
};

const RETRYABLE: ReadonlySet<VaultErrorKind> = new Set([
  "network",
  "timeout",
  "sealed",
  "unavailable",
  "rate_limited",
  "server",
]);

/** The short text of a kind, used in messages and health reasons (never a secret). */
export function vaultReason(kind: VaultErrorKind): string {
  return KIND_TEXT[kind];
}

/**
 * A failed Vault call. The message names the kind, status and API path only: never a token,
 * a request body or a response body. Vault's own `errors` strings are kept in `errors`.
 */
export class VaultError extends Error {
  constructor(
    /** Classification used for retries and health reasons. */
    readonly kind: VaultErrorKind,
    /** HTTP status from Vault; 0 when there was no response. */
    readonly status: number,
    /** The API path (after `/v1/`), e.g. `secret/data/bitrix-app/app`. */
    readonly path: string,
    /** Vault's `errors` array (may be empty). */
    readonly errors: readonly string[] = [],
  ) {
    super(`${KIND_TEXT[kind]} (${status || "no response"})${path ? ` at ${path}` : ""}`);
    this.name = "VaultError";
  }

  /** Whether retrying the same request later may succeed. */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }

  /** Short text for health reasons and logs. */
  get reason(): string {
    return KIND_TEXT[this.kind];
  }
}

/**
 * The kind of an error answer: its status, refined by Vault's `errors` strings (403 "invalid
 * token" vs a policy denial, 503 "sealed") and the path (400 on a login is refused credentials).
 */
export function vaultErrorKind(
  status: number,
  errors: readonly string[],
  path: string,
): VaultErrorKind {
  const has = (s: string) => errors.some((e) => e.toLowerCase().includes(s));
  switch (status) {
    case 400:
      return path.endsWith("/login") ? "invalid_credentials" : "bad_request";
    case 403:
      return has("invalid token") ? "invalid_token" : "permission_denied";
    case 404:
      return "not_found";
    case 412:
    case 429:
      return "rate_limited";
    case 500:
    case 502:
      return "server";
    case 501:
      return "uninitialized";
    case 503:
      return has("sealed") ? "sealed" : "unavailable";
    default:
      return status >= 500 ? "server" : "bad_request";
  }
}

const errorBodySchema = z.object({ errors: z.array(z.string()).optional() });

/** The typed error for a response with status >= 400 (the body may have no `errors`). */
export function vaultErrorOf(res: { status: number; body: unknown }, path: string): VaultError {
  const parsed = errorBodySchema.safeParse(res.body);
  const errors = parsed.success ? parsed.data.errors ?? [] : [];
  return new VaultError(vaultErrorKind(res.status, errors, path), res.status, path, errors);
}
