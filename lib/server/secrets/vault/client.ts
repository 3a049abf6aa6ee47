/**
 * The Vault API calls the app makes, authenticated with AppRole: login (credentials re-read
 * from their files at every login, so a rotated secret_id is picked up), background token
 * renewal, KV v2 reads, `sys/health` and a token lookup for health, revoke on close.
 *
 * The token of one `VaultClient`:
 *
 * ```
 *   no token ──first call / login()──▶ valid ──2/3 of its lease──▶ renewing
 *      ▲                               ▲ ▲                          │
 *      │                               │ └───────── renewed ────────┤
 *      │                               └── login again ◀────────────┤ refused, not renewable
 *      │                                   (also after a 403)       │ or a shorter lease
 *      └──────── failed and the token expired (retried, backoff) ◀──┘
 *   any ──close()──▶ closed: timers stopped, token revoked, every call fails "closed"
 * ```
 *
 * @module
 */
import { z } from "zod";
import { UnavailableError } from "../../errors.ts";
import { log as rootLog } from "../../log.ts";
import type { ProviderHealth } from "../provider.ts";
import { type Clock, systemClock } from "./clock.ts";
import { VaultError, vaultReason } from "./errors.ts";
import {
  type RetryOptions,
  type RetryPolicy,
  vaultFetch,
  type VaultHttpOptions,
  type VaultRequest,
  vaultRequest,
  vaultRequestWithRetry,
  type VaultResponse,
} from "./http.ts";

const log = rootLog.child({ component: "vault" });

/** Counters for /metrics: AppRole logins, token renewals, failed background renewals. */
export interface VaultCounters {
  logins: number;
  renewals: number;
  renewalFailures: number;
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
    return { ok: false, reason: vaultReason("uninitialized") };
  }
  if (res.status === 503 && (!body.success || body.data.sealed)) {
    return { ok: false, reason: vaultReason("sealed") };
  }
  return { ok: false, reason: `vault unhealthy (status ${res.status})` };
}

// ---------------------------------------------------------------------------------------------
// Client

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
  /** Where logins and renewals are counted (the app's metrics). */
  counters?: VaultCounters;
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

  readonly #counters: VaultCounters;

  constructor(options: VaultClientOptions) {
    if (!options.roleId && !options.roleIdFile) throw new Error("vault: roleId or roleIdFile");
    if (!options.secretId && !options.secretIdFile) {
      throw new Error("vault: secretId or secretIdFile");
    }
    new URL(options.addr); // throws on a malformed address
    this.#options = options;
    this.#counters = options.counters ?? { logins: 0, renewals: 0, renewalFailures: 0 };
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
      return { ok: false, reason: err.status === 403 ? vaultReason("invalid_token") : err.reason };
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
    this.#counters.logins++;
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
      this.#counters.renewalFailures++;
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
    this.#counters.renewals++;
    log.debug("vault.token.renewed", { leaseSeconds: auth.lease_duration });
    this.#schedule(this.#renewDelay(auth.lease_duration));
  }

  /** One call with bounded exponential backoff on retryable failures; `close()` cuts it short. */
  #send(req: VaultRequest & { retry?: boolean }): Promise<unknown> {
    const policy: RetryPolicy = {
      ...this.#retry,
      attempts: req.retry === false ? 1 : this.#retry.attempts,
      random: this.#random,
    };
    return vaultRequestWithRetry(this.#http, { ...req, signal: this.#closing.signal }, policy);
  }
}

/** `path` without leading or trailing slashes. */
export function trimSlashes(s: string): string {
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
