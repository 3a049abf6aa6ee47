/**
 * HashiCorp Vault over plain `fetch`: AppRole login, background token renewal, KV v2 reads, and
 * `VaultSecrets`, the `SecretsProvider` that reads the app's secrets and key ring from KV.
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
import { z } from "zod";
import type { Config } from "../config.ts";
import { UnavailableError } from "../errors.ts";
import { log as rootLog } from "../log.ts";
import type { AppSecrets, KeyRing, ProviderHealth, SecretsProvider } from "./provider.ts";

const log = rootLog.child({ component: "vault" });

// ---------------------------------------------------------------------------------------------
// Errors

/** What went wrong talking to Vault, independent of the exact status code. */

/** Counters for /metrics: AppRole logins, token renewals, failed background renewals. */
export const vaultStats = { logins: 0, renewals: 0, renewalFailures: 0 };

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

function classify(status: number, errors: readonly string[], path: string): VaultErrorKind {
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

// ---------------------------------------------------------------------------------------------
// One HTTP call

const errorBodySchema = z.object({ errors: z.array(z.string()).optional() });

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
 * `VaultError` (`network` or `timeout`) only when no complete response arrived.
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
 * `VaultError` otherwise. No retries, no re-login: `VaultClient` adds those.
 */
export async function vaultRequest(http: VaultHttpOptions, req: VaultRequest): Promise<unknown> {
  const res = await vaultFetch(http, req);
  if (res.status < 400) return res.body;
  throw vaultErrorOf(res, req.path);
}

/** The typed error for a response with status >= 400 (the body may have no `errors`). */
export function vaultErrorOf(res: VaultResponse, path: string): VaultError {
  const parsed = errorBodySchema.safeParse(res.body);
  const errors = parsed.success ? parsed.data.errors ?? [] : [];
  return new VaultError(classify(res.status, errors, path), res.status, path, errors);
}

/** Parses `body` with `schema`; a mismatch is a `bad_response` error naming only field paths. */
function parseBody<T>(schema: z.ZodType<T>, body: unknown, path: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const fields = result.error.issues.map((i) => i.path.join(".") || "(root)").join(", ");
  log.warn("vault.bad_response", { path, fields });
  throw new VaultError("bad_response", 200, path);
}

// ---------------------------------------------------------------------------------------------
// Response schemas (only the fields we use; extra fields are tolerated)

const authSchema = z.object({
  client_token: z.string().min(1),
  lease_duration: z.number().int().nonnegative(),
  renewable: z.boolean(),
});
const authResponseSchema = z.object({ auth: authSchema });

const kvReadSchema = z.object({
  data: z.object({
    data: z.record(z.string(), z.unknown()).nullable(),
    metadata: z.object({ version: z.number().int() }),
  }),
});

const healthSchema = z.object({ initialized: z.boolean(), sealed: z.boolean() });

const lookupSelfSchema = z.object({ data: z.object({ ttl: z.number() }) });

/**
 * Unauthenticated `sys/health?standbyok=true`: ok only on 200; never throws.
 * Reasons: "vault sealed", "vault not initialized", "vault unreachable", …
 */
export async function vaultHealth(http: VaultHttpOptions): Promise<ProviderHealth> {
  let res: VaultResponse;
  try {
    res = await vaultFetch(http, {
      method: "GET",
      path: "sys/health",
      query: { standbyok: "true", perfstandbyok: "true" },
    });
  } catch (err) {
    return { ok: false, reason: err instanceof VaultError ? err.reason : "vault unreachable" };
  }
  if (res.status === 200) return { ok: true };
  const body = healthSchema.safeParse(res.body);
  if (res.status === 501 || (body.success && !body.data.initialized)) {
    return { ok: false, reason: KIND_TEXT.uninitialized };
  }
  if (res.status === 503 && (!body.success || body.data.sealed)) {
    return { ok: false, reason: KIND_TEXT.sealed };
  }
  return { ok: false, reason: `vault unhealthy (status ${res.status})` };
}

// ---------------------------------------------------------------------------------------------
// Client

/** Time source and timers; tests pass a manual clock to jump over token lifetimes. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms`; a returned promise may be awaited by manual clocks. */
  setTimeout(fn: () => unknown, ms: number): number;
  clearTimeout(id: number): void;
}

/** The real clock; its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = Number(setTimeout(fn, ms));
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (id) => clearTimeout(id),
};

/** Bounded exponential backoff for retryable failures. */
export interface RetryOptions {
  /** Total attempts, including the first. @defaultValue 5 */
  attempts?: number;
  /** First delay in ms (then doubled each time, with jitter). @defaultValue 250 */
  baseMs?: number;
  /** Longest delay in ms. @defaultValue 5000 */
  maxMs?: number;
}

/** Options for `VaultClient`: give each AppRole credential directly or as a file path. */
export interface VaultClientOptions extends VaultHttpOptions {
  /** AppRole role_id. */
  roleId?: string;
  /** File holding the role_id (read at every login). */
  roleIdFile?: string;
  /** AppRole secret_id. */
  secretId?: string;
  /** File holding the secret_id (read at every login, so rotations are picked up). */
  secretIdFile?: string;
  /** Where AppRole is mounted. @defaultValue "approle" */
  approleMount?: string;
  /** Retry policy for transient failures. */
  retry?: RetryOptions;
  /** Renew the token in the background. @defaultValue true */
  renew?: boolean;
  /** Time source for token lifetimes and renewal timers. @defaultValue systemClock */
  clock?: Clock;
  /** Random source in [0, 1) for jitter. @defaultValue Math.random */
  random?: () => number;
}

/** A KV v2 secret: its key/value map and version. */
export interface KvSecret {
  data: Record<string, unknown>;
  version: number;
}

/** Per-call options of `VaultClient.request`. */
export interface VaultCallOptions {
  body?: unknown;
  query?: Record<string, string>;
  /** Retry transient failures. @defaultValue true */
  retry?: boolean;
}

interface TokenState {
  token: string;
  /** Lease of the last login or renewal, in seconds. */
  leaseSec: number;
  renewable: boolean;
  expiresAt: number;
}

/** Longest pause between background attempts when Vault keeps failing. */
const MAX_BACKGROUND_DELAY_MS = 5 * 60_000;

/**
 * A Vault client authenticated with AppRole. Logs in lazily on the first call (or via
 * `login()`), renews its token in the background, and revokes it on `close()`.
 *
 * @example
 * ```ts
 * const vault = new VaultClient({ addr, roleIdFile, secretIdFile });
 * const secret = await vault.readKv("secret", "bitrix-app/app");
 * await vault.close();
 * ```
 */
export class VaultClient {
  readonly #http: VaultHttpOptions;
  readonly #options: VaultClientOptions;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #retry: Required<RetryOptions>;
  readonly #closing = new AbortController();
  #token?: TokenState;
  #loginFlight?: Promise<TokenState>;
  #timer?: number;
  #background?: Promise<void>;
  #failures = 0;

  constructor(options: VaultClientOptions) {
    if (!options.roleId && !options.roleIdFile) throw new Error("vault: roleId or roleIdFile");
    if (!options.secretId && !options.secretIdFile) {
      throw new Error("vault: secretId or secretIdFile");
    }
    new URL(options.addr); // throws on a malformed address
    this.#options = options;
    this.#http = {
      addr: options.addr,
      namespace: options.namespace,
      timeoutMs: options.timeoutMs ?? 5000,
      fetch: options.fetch,
    };
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#retry = { attempts: 5, baseMs: 250, maxMs: 5000, ...options.retry };
  }

  /** Logs in now (single-flight: concurrent callers share one login) and returns when done. */
  async login(): Promise<void> {
    await this.#login();
  }

  /** Reads a KV v2 secret (`<mount>/data/<path>`); `null` when it was never written or is deleted. */
  async readKv(mount: string, path: string): Promise<KvSecret | null> {
    const apiPath = `${trimSlashes(mount)}/data/${trimSlashes(path)}`;
    let body: unknown;
    try {
      body = await this.request("GET", apiPath);
    } catch (err) {
      if (err instanceof VaultError && err.kind === "not_found") return null;
      throw err;
    }
    const parsed = parseBody(kvReadSchema, body, apiPath);
    if (!parsed.data.data) return null;
    return { data: parsed.data.data, version: parsed.data.metadata.version };
  }

  /**
   * An authenticated call with retries. On 403 it logs in again once and retries once; a
   * second 403 throws `VaultError` (`permission_denied` or `invalid_token`), no loop.
   */
  async request(
    method: VaultRequest["method"],
    path: string,
    options: VaultCallOptions = {},
  ): Promise<unknown> {
    const first = await this.#validToken();
    try {
      return await this.#send({ method, path, token: first.token, ...options });
    } catch (err) {
      if (!(err instanceof VaultError && err.status === 403)) throw err;
      log.info("vault.relogin", { path, kind: err.kind });
    }
    const fresh = this.#token && this.#token !== first && this.#token.expiresAt > this.#clock.now()
      ? this.#token
      : await this.#login();
    return await this.#send({ method, path, token: fresh.token, ...options });
  }

  /**
   * `sys/health` and a `lookup-self` with the client's token (logging in if needed). Reasons:
   * "vault sealed", "vault unreachable", "vault token invalid", … never a secret.
   */
  async health(): Promise<ProviderHealth> {
    const sys = await vaultHealth(this.#http);
    if (!sys.ok) return sys;
    try {
      const body = await this.request("GET", "auth/token/lookup-self", { retry: false });
      parseBody(lookupSelfSchema, body, "auth/token/lookup-self");
      return { ok: true };
    } catch (err) {
      if (err instanceof UnavailableError) return { ok: false, reason: err.message };
      if (!(err instanceof VaultError)) throw err;
      return { ok: false, reason: err.status === 403 ? KIND_TEXT.invalid_token : err.reason };
    }
  }

  /** Stops renewal, waits for background work, and revokes the token (best effort). */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([this.#background, this.#loginFlight]);
    const token = this.#token;
    this.#token = undefined;
    if (!token || token.expiresAt <= this.#clock.now()) return;
    try {
      await vaultRequest(this.#http, {
        method: "POST",
        path: "auth/token/revoke-self",
        token: token.token,
      });
      log.info("vault.token.revoked");
    } catch (err) {
      log.warn("vault.token.revoke_failed", { reason: (err as VaultError).message });
    }
  }

  async #validToken(): Promise<TokenState> {
    if (this.#closing.signal.aborted) throw new VaultError("closed", 0, "");
    const token = this.#token;
    if (token && token.expiresAt > this.#clock.now()) return token;
    return await this.#login();
  }

  #login(): Promise<TokenState> {
    this.#loginFlight ??= this.#doLogin().finally(() => {
      this.#loginFlight = undefined;
    });
    return this.#loginFlight;
  }

  async #doLogin(): Promise<TokenState> {
    const mount = trimSlashes(this.#options.approleMount ?? "approle");
    const path = `auth/${mount}/login`;
    const roleId = await credential(this.#options.roleId, this.#options.roleIdFile, "role_id");
    const secretId = await credential(
      this.#options.secretId,
      this.#options.secretIdFile,
      "secret_id",
    );
    const body = await this.#send({
      method: "POST",
      path,
      body: { role_id: roleId, secret_id: secretId },
    });
    const { auth } = parseBody(authResponseSchema, body, path);
    const state: TokenState = {
      token: auth.client_token,
      leaseSec: auth.lease_duration,
      renewable: auth.renewable,
      expiresAt: auth.lease_duration > 0
        ? this.#clock.now() + auth.lease_duration * 1000
        : Number.POSITIVE_INFINITY,
    };
    if (this.#closing.signal.aborted) {
      await vaultRequest(this.#http, {
        method: "POST",
        path: "auth/token/revoke-self",
        token: state.token,
      })
        .catch(() => {});
      throw new VaultError("closed", 0, path);
    }
    this.#token = state;
    this.#failures = 0;
    vaultStats.logins++;
    log.info("vault.login", { leaseSeconds: auth.lease_duration, renewable: auth.renewable });
    if (auth.lease_duration > 0) this.#schedule(this.#renewDelay(auth.lease_duration));
    return state;
  }

  /** About 2/3 of the lease, minus up to 10 % jitter so many instances don't renew in step. */
  #renewDelay(leaseSec: number): number {
    return leaseSec * 1000 * (2 / 3) * (1 - 0.1 * this.#random());
  }

  #schedule(delayMs: number): void {
    if (this.#options.renew === false || this.#closing.signal.aborted) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => this.#tick(), Math.max(0, delayMs));
  }

  /** The background step: renew, or log in again; never rejects. */
  #tick(): Promise<void> {
    this.#timer = undefined;
    const run = this.#renewOrLogin().catch((err) => {
      if (this.#closing.signal.aborted) return;
      this.#failures++;
      vaultStats.renewalFailures++;
      const reason = err instanceof Error ? err.message : "unexpected error";
      log.warn("vault.renewal_failed", { reason, failures: this.#failures });
      const remaining = (this.#token?.expiresAt ?? 0) - this.#clock.now();
      if (remaining <= 0) this.#token = undefined;
      const backoff = Math.min(MAX_BACKGROUND_DELAY_MS, 1000 * 2 ** this.#failures);
      const delay = remaining > 0 ? Math.min(backoff, remaining / 2) : backoff;
      this.#schedule(delay * (0.75 + 0.25 * this.#random()));
    });
    this.#background = run;
    return run;
  }

  async #renewOrLogin(): Promise<void> {
    const current = this.#token;
    if (!current || !current.renewable) {
      await this.#login();
      return;
    }
    let body: unknown;
    try {
      body = await this.#send({
        method: "POST",
        path: "auth/token/renew-self",
        token: current.token,
        body: { increment: `${current.leaseSec}s` },
      });
    } catch (err) {
      if (!(err instanceof VaultError && (err.status === 403 || err.status === 400))) throw err;
      log.info("vault.renew_refused", { kind: err.kind });
      await this.#login();
      return;
    }
    const { auth } = parseBody(authResponseSchema, body, "auth/token/renew-self");
    if (this.#token !== current) return; // a login replaced the token meanwhile
    if (auth.lease_duration < current.leaseSec || !auth.renewable) {
      log.info("vault.token.max_ttl", { leaseSeconds: auth.lease_duration });
      await this.#login();
      return;
    }
    current.expiresAt = this.#clock.now() + auth.lease_duration * 1000;
    this.#failures = 0;
    vaultStats.renewals++;
    log.debug("vault.token.renewed", { leaseSeconds: auth.lease_duration });
    this.#schedule(this.#renewDelay(auth.lease_duration));
  }

  /** One call with bounded exponential backoff on retryable failures. */
  async #send(req: VaultRequest & { retry?: boolean }): Promise<unknown> {
    const attempts = req.retry === false ? 1 : Math.max(1, this.#retry.attempts);
    for (let attempt = 1;; attempt++) {
      try {
        return await vaultRequest(this.#http, { ...req, signal: this.#closing.signal });
      } catch (err) {
        if (!(err instanceof VaultError) || !err.retryable || attempt >= attempts) throw err;
        const cap = Math.min(this.#retry.maxMs, this.#retry.baseMs * 2 ** (attempt - 1));
        const delayMs = Math.round(cap * (0.5 + 0.5 * this.#random()));
        log.warn("vault.retry", {
          path: req.path,
          status: err.status,
          kind: err.kind,
          attempt,
          delayMs,
        });
        await sleep(delayMs, this.#closing.signal);
        if (this.#closing.signal.aborted) throw new VaultError("closed", 0, req.path);
      }
    }
  }
}

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

async function credential(
  value: string | undefined,
  file: string | undefined,
  name: string,
): Promise<string> {
  if (file) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (err) {
      throw new UnavailableError(`vault: cannot read the ${name} file`, { cause: err });
    }
    const trimmed = text.trim();
    if (!trimmed) throw new UnavailableError(`vault: the ${name} file is empty`);
    return trimmed;
  }
  return value!;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

// ---------------------------------------------------------------------------------------------
// SecretsProvider

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
