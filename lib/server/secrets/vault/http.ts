/**
 * One Vault API call over plain `fetch` (the `/v1/` path, token and namespace headers, a
 * per-request timeout), and the same call with bounded exponential backoff and jitter on the
 * failures worth retrying (network errors, timeouts, 412, 429, 500, 502, 503).
 *
 * @module
 */
import { log as rootLog } from "../../log.ts";
import { VaultError, vaultErrorOf } from "./errors.ts";

const log = rootLog.child({ component: "vault" });

/** Where and how to reach Vault. */
export interface VaultHttpOptions {
  /** Base address, e.g. `https://vault:8200`. */
  addr: string;
  /** Enterprise namespace, sent as `X-Vault-Namespace` when set. */
  namespace?: string;
  /** Per-request timeout in ms. @defaultValue 5000 */
  timeoutMs?: number;
  /** The fetch to use (tests, custom TLS clients). @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
}

/** One Vault API request. */
export interface VaultRequest {
  /** `LIST` is sent as `GET ?list=true`; `PUT` and `POST` are the same to Vault. */
  method: "GET" | "POST" | "PUT" | "DELETE" | "LIST";
  /** API path after `/v1/`, without a leading slash. */
  path: string;
  /** Client token (`X-Vault-Token`). */
  token?: string;
  /** JSON body. */
  body?: unknown;
  /** Query parameters. */
  query?: Record<string, string>;
  /** Aborts the request (besides the timeout). */
  signal?: AbortSignal;
}

/** The raw outcome of a call: status and parsed JSON body (`null` for 204 or an empty body). */
export interface VaultResponse {
  status: number;
  body: unknown;
}

/**
 * Sends one request and returns the status and parsed body whatever the status; throws a
 * `VaultError` (`network` or `timeout`, `closed` when `req.signal` aborted it) only when no
 * complete response arrived.
 */
export async function vaultFetch(
  http: VaultHttpOptions,
  req: VaultRequest,
): Promise<VaultResponse> {
  const url = new URL(`/v1/${req.path.replace(/^\/+/, "")}`, http.addr);
  for (const [k, v] of Object.entries(req.query ?? {})) url.searchParams.set(k, v);
  if (req.method === "LIST") url.searchParams.set("list", "true");
  const headers = new Headers({ "X-Vault-Request": "true" });
  if (req.token) headers.set("X-Vault-Token", req.token);
  if (http.namespace) headers.set("X-Vault-Namespace", http.namespace);
  if (req.body !== undefined) headers.set("Content-Type", "application/json");

  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), http.timeoutMs ?? 5000);
  const signal = req.signal ? AbortSignal.any([timeout.signal, req.signal]) : timeout.signal;
  try {
    const res = await (http.fetch ?? fetch)(url, {
      method: req.method === "LIST" ? "GET" : req.method,
      headers,
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal,
    });
    const text = await res.text();
    let body: unknown = null;
    if (text.trim()) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    return { status: res.status, body };
  } catch {
    if (req.signal?.aborted) throw new VaultError("closed", 0, req.path);
    throw new VaultError(timeout.signal.aborted ? "timeout" : "network", 0, req.path);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends one request; returns the parsed body on 2xx (`null` for 204) and throws a typed
 * `VaultError` otherwise. No retries, no re-login: `vaultRequestWithRetry` and `VaultClient`
 * add those.
 */
export async function vaultRequest(http: VaultHttpOptions, req: VaultRequest): Promise<unknown> {
  const res = await vaultFetch(http, req);
  if (res.status < 400) return res.body;
  throw vaultErrorOf(res, req.path);
}

/** Bounded exponential backoff for retryable failures. */
export interface RetryOptions {
  /** Total attempts, including the first. @defaultValue 5 */
  attempts?: number;
  /** First delay in ms (then doubled each time, with jitter). @defaultValue 250 */
  baseMs?: number;
  /** Longest delay in ms. @defaultValue 5000 */
  maxMs?: number;
}

/** The retry policy with every value set, and the random source in [0, 1) for its jitter. */
export interface RetryPolicy extends Required<RetryOptions> {
  random: () => number;
}

/**
 * `vaultRequest` with bounded exponential backoff: a retryable `VaultError` is retried after
 * `min(maxMs, baseMs · 2^(attempt-1))` scaled by a jitter in [0.5, 1), up to `attempts` calls
 * in all; any other error, or the last one, is thrown. `req.signal` ends the wait early and
 * makes the call fail as `closed`.
 */
export async function vaultRequestWithRetry(
  http: VaultHttpOptions,
  req: VaultRequest,
  policy: RetryPolicy,
): Promise<unknown> {
  const attempts = Math.max(1, policy.attempts);
  for (let attempt = 1;; attempt++) {
    try {
      return await vaultRequest(http, req);
    } catch (err) {
      if (!(err instanceof VaultError) || !err.retryable || attempt >= attempts) throw err;
      const cap = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
      const delayMs = Math.round(cap * (0.5 + 0.5 * policy.random()));
      log.warn("vault.retry", {
        path: req.path,
        status: err.status,
        kind: err.kind,
        attempt,
        delayMs,
      });
      await abortableSleep(delayMs, req.signal);
      if (req.signal?.aborted) throw new VaultError("closed", 0, req.path);
    }
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done);
  });
}
