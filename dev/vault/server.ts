/**
 * A Vault test server: a real HTTP server on 127.0.0.1 that speaks the Vault API shapes the app
 * and the init script use (see `reference/vault.md` §2). It is an honest double, not a mock:
 * envelopes, `{"errors":[…]}` bodies, 403 for bad tokens, path-glob ACL policies, AppRole,
 * token lifetimes on a controllable clock, seal/init/unseal, KV v2 with versions and cas, and
 * fault injection. Everything is in memory.
 *
 * Not modelled: transit, response wrapping, namespaces, standby nodes, KV v1, other auth
 * methods, `sudo` checks (only root can reach admin paths unless a policy grants them).
 *
 * Run standalone for manual use: `deno run -A dev/vault/server.ts` (port from `VAULT_TEST_PORT`,
 * default 8200; prints the root token).
 *
 * @module
 */
import { type Clock, systemClock } from "../../lib/server/secrets/vault.ts";
import { ManualClock } from "./clock.ts";

// ---------------------------------------------------------------------------------------------
// Public types

/** Options of `startVaultTestServer`. */
export interface VaultTestServerOptions {
  /** Port on 127.0.0.1. @defaultValue 0 (a free port) */
  port?: number;
  /** Time source for token and secret-id lifetimes. @defaultValue a new `ManualClock` */
  clock?: Clock;
  /** Start initialized (one unseal key, a root token). @defaultValue true */
  initialized?: boolean;
  /** Start sealed (only with `initialized`). @defaultValue false */
  sealed?: boolean;
  /** Root token when started initialized. @defaultValue a random `hvs.` token */
  rootToken?: string;
  /** KV v2 mounts present at start (the dev server has `secret`). @defaultValue ["secret"] */
  kvMounts?: string[];
  /** AppRole mounts present at start. @defaultValue [] */
  approleMounts?: string[];
  /** Answer bad tokens with `["permission denied"]` only, like servers before 1.17. */
  legacyForbidden?: boolean;
}

/** A fault the server injects instead of (or before) answering. */
export type VaultFault =
  | { type: "status"; status: 412 | 429 | 500 | 502 | 503; errors?: string[] }
  | { type: "reset" }
  | { type: "delay"; ms: number };

/** One request as the server saw it (no bodies, no tokens). */
export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
}

// ---------------------------------------------------------------------------------------------
// State

interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  tokenPolicies: string[];
  issuedAt: number;
  /** null = never expires (root). */
  expiresAt: number | null;
  maxExpiresAt: number | null;
  ttlSec: number;
  renewable: boolean;
  path: string;
  meta: Record<string, string> | null;
  entityId: string;
  role?: { mount: string; name: string };
}

interface Role {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPolicies: string[];
  tokenNoDefaultPolicy: boolean;
  secretIdTtl: number;
  secretIdNumUses: number;
}

interface SecretIdEntry {
  role: string;
  accessor: string;
  createdAt: number;
  expiresAt: number | null;
  /** null = unlimited. */
  usesLeft: number | null;
  ttlSec: number;
  numUses: number;
}

interface AuthMount {
  accessor: string;
  description: string;
  roles: Map<string, Role>;
  secretIds: Map<string, SecretIdEntry>;
}

interface KvVersion {
  data: Record<string, unknown>;
  created: number;
  deleted: number | null;
  destroyed: boolean;
}

interface KvEntry {
  versions: Map<number, KvVersion>;
  current: number;
  created: number;
  updated: number;
}

interface KvMount {
  accessor: string;
  description: string;
  entries: Map<string, KvEntry>;
}

interface Rule {
  pattern: string;
  regex: RegExp;
  exact: boolean;
  prefixLength: number;
  caps: Set<string>;
}

interface Policy {
  text: string;
  rules: Rule[];
}

interface Ctx {
  req: Request;
  url: URL;
  method: "GET" | "POST" | "DELETE" | "LIST" | "PATCH";
  path: string;
  body: Record<string, unknown>;
}

type Cap = "create" | "read" | "update" | "delete" | "list" | "patch";

const SYSTEM_MAX_TTL = 768 * 3600;
const VERSION = "1.17.0+test";
const CAPABILITIES = new Set([
  "create",
  "read",
  "update",
  "patch",
  "delete",
  "list",
  "sudo",
  "deny",
  "subscribe",
  "recover",
]);
const DEFAULT_POLICY = `
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
`;
const KV_V1_PATH_WARNING =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API " +
  "endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

/** Thrown inside handlers to answer right away. */
class Reply {
  constructor(readonly response: Response) {}
}

function json(status: number, body: unknown): Response {
  return Response.json(body, { status });
}

function fail(status: number, ...errors: string[]): never {
  throw new Reply(json(status, { errors }));
}

function noContent(): Response {
  return new Response(null, { status: 204 });
}

function envelope(fields: Record<string, unknown>, status = 200): Response {
  return json(status, {
    request_id: crypto.randomUUID(),
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: null,
    mount_type: "",
    ...fields,
  });
}

function randomId(bytes = 18): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses a Vault duration: seconds as a number or digit string, or `1h30m`, `20s`, `2d`. */
function parseDuration(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return Number(value);
    const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
    const parts = [...value.matchAll(/(\d+)([smhd])/g)];
    if (parts.length && parts.map((p) => p[0]).join("") === value) {
      return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
    }
  }
  fail(400, `invalid duration for ${field}`);
}

function parseCount(value: unknown, field: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= 0) return n;
  fail(400, `invalid value for ${field}`);
}

function parseList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  return [];
}

/** Parses the subset of HCL policies used here: `path "glob" { capabilities = [ … ] }`. */
function parsePolicy(text: string): Rule[] {
  const clean = text.replace(/(#|\/\/)[^\n]*/g, "");
  const rules: Rule[] = [];
  let rest = clean;
  for (const m of clean.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    rest = rest.replace(m[0], "");
    const capsText = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2]);
    if (!capsText) throw new Error(`no capabilities for path "${m[1]}"`);
    const caps = new Set(
      capsText[1].split(",").map((c) => c.trim().replace(/^"|"$/g, "")).filter(Boolean),
    );
    for (const c of caps) if (!CAPABILITIES.has(c)) throw new Error(`invalid capability "${c}"`);
    const pattern = m[1].replace(/^\//, "");
    const glob = pattern.endsWith("*");
    const body = glob ? pattern.slice(0, -1) : pattern;
    const source = body.split("+").map((s) => s.replace(/[.*?^${}()|[\]\\]/g, "\\$&")).join(
      "[^/]+",
    );
    rules.push({
      pattern,
      regex: new RegExp(`^${source}${glob ? ".*" : ""}$`),
      exact: !glob && !pattern.includes("+"),
      prefixLength: body.split("+")[0].length,
      caps,
    });
  }
  if (rest.trim()) throw new Error("unexpected text outside path blocks");
  return rules;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
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
// Server

/** A running Vault test server; create it with `startVaultTestServer`. */
export class VaultTestServer {
  /** Base address, e.g. `http://127.0.0.1:41234`. */
  readonly addr: string;
  /** The server's clock (a `ManualClock` unless one was passed). */
  readonly clock: Clock;
  /** Every request seen, oldest first (method, API path, status). */
  readonly requests: RecordedRequest[] = [];

  #server: Deno.HttpServer<Deno.NetAddr>;
  #legacyForbidden: boolean;
  #initialized = false;
  #sealed = true;
  #threshold = 1;
  #unsealKeys: string[] = [];
  #unsealProgress = new Set<string>();
  #rootToken = "";
  #clusterId = crypto.randomUUID();
  #tokens = new Map<string, TokenEntry>();
  #policies = new Map<string, Policy>();
  #auth = new Map<string, AuthMount>();
  #kv = new Map<string, KvMount>();
  #faults: { fault: VaultFault; times: number; path?: string }[] = [];
  #closing = new AbortController();

  /** @internal use `startVaultTestServer`. */
  constructor(options: VaultTestServerOptions) {
    this.clock = options.clock ?? new ManualClock();
    this.#legacyForbidden = options.legacyForbidden ?? false;
    this.#policies.set("default", { text: DEFAULT_POLICY, rules: parsePolicy(DEFAULT_POLICY) });
    if (options.initialized ?? true) {
      this.#initialize(1, 1, options.rootToken);
      this.#sealed = options.sealed ?? false;
    }
    for (const m of options.kvMounts ?? ["secret"]) {
      this.#kv.set(m, { accessor: `kv_${randomId(4)}`, description: "", entries: new Map() });
    }
    for (const m of options.approleMounts ?? []) this.#enableAppRole(m, "");
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.addr = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The current root token (set at start, or by `sys/init`). */
  get rootToken(): string {
    return this.#rootToken;
  }

  /** Unseal key shares (hex), as `sys/init` returned them. */
  get unsealKeys(): readonly string[] {
    return this.#unsealKeys;
  }

  /** Whether the server is sealed. */
  get sealed(): boolean {
    return this.#sealed;
  }

  /** Moves the clock forward (requires the default `ManualClock`). */
  async advance(ms: number): Promise<void> {
    if (!(this.clock instanceof ManualClock)) throw new Error("the server clock is not manual");
    await this.clock.advance(ms);
  }

  /** Seals the server (like `sys/seal`). */
  seal(): void {
    this.#sealed = true;
    this.#unsealProgress.clear();
  }

  /** Unseals without key shares (test shortcut). */
  unseal(): void {
    if (!this.#initialized) throw new Error("not initialized");
    this.#sealed = false;
    this.#unsealProgress.clear();
  }

  /** Revokes every token except the root token (as if their leases were revoked). */
  revokeAllTokens(): void {
    for (const id of [...this.#tokens.keys()]) if (id !== this.#rootToken) this.#tokens.delete(id);
  }

  /** Number of live (unexpired, unrevoked) tokens other than root. */
  activeTokens(): number {
    const now = this.clock.now();
    return [...this.#tokens.values()].filter((t) =>
      t.id !== this.#rootToken && (t.expiresAt === null || t.expiresAt > now)
    ).length;
  }

  /** Number of AppRole secret ids currently valid on a role. */
  secretIdCount(role: string, mount = "approle"): number {
    const m = this.#auth.get(mount);
    if (!m) return 0;
    return [...m.secretIds.values()].filter((s) => s.role === role).length;
  }

  /**
   * Injects `fault` into the next `times` requests (whose API path starts with `path`, when
   * given). Faults are consumed in the order injected.
   */
  inject(fault: VaultFault, options: { times?: number; path?: string } = {}): void {
    this.#faults.push({ fault, times: options.times ?? 1, path: options.path });
  }

  /** Calls the API with the root token; returns the parsed body, throws on >= 400. */
  async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.addr}/v1/${path}`, {
      method,
      headers: { "X-Vault-Token": this.#rootToken },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  /** Stops the server. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#server.shutdown();
  }

  // -------------------------------------------------------------------------------------------
  // Request handling

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.startsWith("/v1/") ? url.pathname.slice(4) : "";
    let response: Response;
    try {
      response = await this.#faultFor(path) ?? await this.#dispatch(req, url, path);
    } catch (err) {
      if (!(err instanceof Reply)) throw err;
      response = err.response;
    }
    this.requests.push({ method: req.method, path, status: response.status });
    return response;
  }

  async #faultFor(path: string): Promise<Response | undefined> {
    const i = this.#faults.findIndex((f) => !f.path || path.startsWith(f.path));
    if (i < 0) return undefined;
    const entry = this.#faults[i];
    if (--entry.times <= 0) this.#faults.splice(i, 1);
    const fault = entry.fault;
    switch (fault.type) {
      case "status": {
        const defaults: Record<number, string> = {
          412: "required index state not present",
          429: `request path "${path}": rate limit quota exceeded`,
          500: "internal error",
          502: "upstream error",
          503: "Vault is sealed",
        };
        return json(fault.status, { errors: fault.errors ?? [defaults[fault.status]] });
      }
      case "reset":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"request_id":'));
              // Deno prints a non-Error reason as one line (an Error would print a stack).
              controller.error("vault test server: injected connection reset");
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      case "delay":
        await abortableSleep(fault.ms, this.#closing.signal);
        return undefined;
    }
  }

  async #dispatch(req: Request, url: URL, path: string): Promise<Response> {
    if (!url.pathname.startsWith("/v1/")) fail(404);
    const ctx: Ctx = { req, url, path, method: methodOf(req, url), body: await bodyOf(req) };

    switch (path) {
      case "sys/health":
        return this.#health(ctx);
      case "sys/seal-status":
        return this.#only(ctx, ["GET"], () => json(200, this.#sealStatus()));
      case "sys/init":
        return this.#init(ctx);
      case "sys/unseal":
        return this.#only(ctx, ["POST"], () => this.#unseal(ctx));
    }
    if (!this.#initialized || this.#sealed) fail(503, "Vault is sealed");

    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login && this.#auth.has(login[1])) {
      return this.#only(ctx, ["POST"], () => this.#login(ctx, login[1]));
    }

    const token = this.#authenticate(req);
    if (path.startsWith("auth/token/")) return this.#tokenSelf(ctx, token);
    if (path === "sys/seal") {
      return this.#only(ctx, ["POST"], () => {
        this.#allow(token, path, "update");
        this.seal();
        return noContent();
      });
    }
    if (path === "sys/auth" || path.startsWith("sys/auth/")) return this.#sysAuth(ctx, token);
    if (path === "sys/mounts" || path.startsWith("sys/mounts/")) return this.#sysMounts(ctx, token);
    if (path === "sys/policies/acl" || path.startsWith("sys/policies/acl/")) {
      return this.#sysPolicies(ctx, token);
    }
    const approle = [...this.#auth.keys()].find((m) => path.startsWith(`auth/${m}/`));
    if (approle) return this.#appRole(ctx, token, approle, path.slice(`auth/${approle}/`.length));
    const kv = [...this.#kv.keys()].sort((a, b) => b.length - a.length)
      .find((m) => path === m || path.startsWith(`${m}/`));
    if (kv) return this.#kvRoute(ctx, token, kv, path.slice(kv.length + 1));
    fail(404);
  }

  #only(ctx: Ctx, methods: Ctx["method"][], run: () => Response): Response {
    if (!methods.includes(ctx.method)) fail(405, "unsupported operation");
    return run();
  }

  #authenticate(req: Request): TokenEntry {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
    const id = req.headers.get("x-vault-token") ?? bearer;
    if (!id) fail(403, "permission denied");
    const entry = this.#tokens.get(id);
    if (entry && (entry.expiresAt === null || entry.expiresAt > this.clock.now())) return entry;
    if (entry) this.#tokens.delete(id);
    if (this.#legacyForbidden) fail(403, "permission denied");
    fail(403, "permission denied", "invalid token");
  }

  /** Throws 403 unless one of the token's policies grants `cap` on `path`. */
  #allow(token: TokenEntry, path: string, cap: Cap): void {
    if (token.policies.includes("root")) return;
    const matches = token.policies.flatMap((p) => this.#policies.get(p)?.rules ?? [])
      .filter((r) => r.regex.test(path));
    if (matches.length) {
      const score = (r: Rule) => (r.exact ? 1e6 : 0) + r.prefixLength;
      const best = Math.max(...matches.map(score));
      const caps = new Set(matches.filter((r) => score(r) === best).flatMap((r) => [...r.caps]));
      if (!caps.has("deny") && caps.has(cap)) return;
    }
    fail(403, "permission denied");
  }

  // -------------------------------------------------------------------------------------------
  // sys: health, init, unseal

  #health(ctx: Ctx): Response {
    if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") fail(405, "unsupported operation");
    const code = (name: string, fallback: number) => {
      const v = ctx.url.searchParams.get(name);
      return v && /^\d+$/.test(v) ? Number(v) : fallback;
    };
    const status = !this.#initialized
      ? code("uninitcode", 501)
      : this.#sealed
      ? code("sealedcode", 503)
      : code("activecode", 200);
    const body = {
      initialized: this.#initialized,
      sealed: this.#sealed,
      standby: false,
      performance_standby: false,
      replication_performance_mode: "disabled",
      replication_dr_mode: "disabled",
      server_time_utc: Math.floor(this.clock.now() / 1000),
      version: VERSION,
      ...(this.#initialized
        ? { cluster_name: "vault-test-cluster", cluster_id: this.#clusterId }
        : {}),
    };
    return ctx.req.method === "HEAD" ? new Response(null, { status }) : json(status, body);
  }

  #sealStatus(): Record<string, unknown> {
    return {
      type: "shamir",
      initialized: this.#initialized,
      sealed: this.#sealed,
      t: this.#threshold,
      n: this.#unsealKeys.length,
      progress: this.#unsealProgress.size,
      nonce: "",
      version: VERSION,
      build_date: "2026-01-01T00:00:00Z",
      migration: false,
      recovery_seal: false,
      storage_type: "inmem",
      ...(this.#sealed ? {} : { cluster_name: "vault-test-cluster", cluster_id: this.#clusterId }),
    };
  }

  #init(ctx: Ctx): Response {
    if (ctx.method === "GET") return json(200, { initialized: this.#initialized });
    if (ctx.method !== "POST") fail(405, "unsupported operation");
    if (this.#initialized) fail(400, "Vault is already initialized");
    const shares = parseCount(ctx.body.secret_shares, "secret_shares");
    const threshold = parseCount(ctx.body.secret_threshold, "secret_threshold");
    if (shares < 1 || threshold < 1 || threshold > shares) {
      fail(400, "invalid seal configuration: threshold must be between 1 and shares");
    }
    const root = this.#initialize(shares, threshold);
    this.#sealed = true;
    return json(200, {
      keys: this.#unsealKeys,
      keys_base64: this.#unsealKeys.map(hexToBase64),
      root_token: root,
    });
  }

  #initialize(shares: number, threshold: number, rootToken?: string): string {
    this.#initialized = true;
    this.#threshold = threshold;
    this.#unsealKeys = Array.from(
      { length: shares },
      () =>
        Array.from(
          crypto.getRandomValues(new Uint8Array(32)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join(""),
    );
    this.#rootToken = rootToken ?? `hvs.${randomId(18)}`;
    this.#tokens.set(this.#rootToken, {
      id: this.#rootToken,
      accessor: randomId(18),
      policies: ["root"],
      tokenPolicies: ["root"],
      issuedAt: this.clock.now(),
      expiresAt: null,
      maxExpiresAt: null,
      ttlSec: 0,
      renewable: false,
      path: "auth/token/root",
      meta: null,
      entityId: "",
    });
    return this.#rootToken;
  }

  #unseal(ctx: Ctx): Response {
    if (!this.#initialized) fail(400, "Vault is not initialized");
    if (ctx.body.reset === true) {
      this.#unsealProgress.clear();
      return json(200, this.#sealStatus());
    }
    if (!this.#sealed) return json(200, this.#sealStatus());
    const key = typeof ctx.body.key === "string" ? ctx.body.key : "";
    if (!key) fail(400, "'key' must be specified in request body as JSON, or 'reset' set to true");
    const hex = /^[0-9a-f]+$/i.test(key) ? key.toLowerCase() : base64ToHex(key);
    if (!this.#unsealKeys.includes(hex)) {
      this.#unsealProgress.clear();
      fail(400, "Error unsealing: invalid key");
    }
    this.#unsealProgress.add(hex);
    if (this.#unsealProgress.size >= this.#threshold) {
      this.#sealed = false;
      this.#unsealProgress.clear();
    }
    return json(200, this.#sealStatus());
  }

  // -------------------------------------------------------------------------------------------
  // Tokens

  #issueToken(
    fields: Omit<TokenEntry, "id" | "accessor" | "issuedAt" | "expiresAt" | "maxExpiresAt"> & {
      maxTtlSec: number;
    },
  ): TokenEntry {
    const now = this.clock.now();
    const { maxTtlSec, ...rest } = fields;
    const entry: TokenEntry = {
      ...rest,
      id: `hvs.${randomId(18)}`,
      accessor: randomId(18),
      issuedAt: now,
      expiresAt: now + fields.ttlSec * 1000,
      maxExpiresAt: now + maxTtlSec * 1000,
    };
    this.#tokens.set(entry.id, entry);
    return entry;
  }

  #authObject(t: TokenEntry, leaseSec: number): Record<string, unknown> {
    return {
      client_token: t.id,
      accessor: t.accessor,
      policies: t.policies,
      token_policies: t.tokenPolicies,
      identity_policies: null,
      metadata: t.meta,
      lease_duration: leaseSec,
      renewable: t.renewable,
      entity_id: t.entityId,
      token_type: "service",
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    };
  }

  #tokenSelf(ctx: Ctx, token: TokenEntry): Response {
    const now = this.clock.now();
    switch (ctx.path) {
      case "auth/token/lookup-self": {
        if (ctx.method !== "GET" && ctx.method !== "POST") fail(405, "unsupported operation");
        this.#allow(token, ctx.path, "read");
        return envelope({
          data: {
            accessor: token.accessor,
            creation_time: Math.floor(token.issuedAt / 1000),
            creation_ttl: token.ttlSec,
            display_name: token.role ? token.role.mount : "root",
            entity_id: token.entityId,
            expire_time: token.expiresAt === null ? null : iso(token.expiresAt),
            explicit_max_ttl: 0,
            id: token.id,
            issue_time: iso(token.issuedAt),
            meta: token.meta,
            num_uses: 0,
            orphan: true,
            path: token.path,
            policies: token.policies,
            renewable: token.renewable,
            ttl: token.expiresAt === null ? 0 : Math.floor((token.expiresAt - now) / 1000),
            type: "service",
          },
        });
      }
      case "auth/token/renew-self": {
        if (ctx.method !== "POST") fail(405, "unsupported operation");
        this.#allow(token, ctx.path, "update");
        if (!token.renewable || token.expiresAt === null) fail(400, "lease is not renewable");
        const role = token.role && this.#auth.get(token.role.mount)?.roles.get(token.role.name);
        if (role) { // a role's TTLs are re-read at renewal time
          token.ttlSec = role.tokenTtl || SYSTEM_MAX_TTL;
          token.maxExpiresAt = token.issuedAt + (role.tokenMaxTtl || SYSTEM_MAX_TTL) * 1000;
        }
        const increment = ctx.body.increment === undefined
          ? 0
          : parseDuration(ctx.body.increment, "increment");
        const wanted = now + (increment || token.ttlSec) * 1000;
        token.expiresAt = Math.min(wanted, token.maxExpiresAt ?? wanted);
        const lease = Math.max(0, Math.floor((token.expiresAt - now) / 1000));
        return envelope({ auth: this.#authObject(token, lease) });
      }
      case "auth/token/revoke-self":
        if (ctx.method !== "POST") fail(405, "unsupported operation");
        this.#allow(token, ctx.path, "update");
        this.#tokens.delete(token.id);
        return noContent();
    }
    fail(404);
  }

  // -------------------------------------------------------------------------------------------
  // sys/auth, sys/mounts, sys/policies/acl

  #mountInfo(type: string, accessor: string, description: string, options: unknown) {
    return {
      type,
      description,
      accessor,
      config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
      local: false,
      seal_wrap: false,
      external_entropy_access: false,
      options,
      uuid: accessor,
    };
  }

  #sysAuth(ctx: Ctx, token: TokenEntry): Response {
    const name = ctx.path.slice("sys/auth/".length).replace(/\/$/, "");
    if (ctx.path === "sys/auth") {
      if (ctx.method !== "GET") fail(405, "unsupported operation");
      this.#allow(token, ctx.path, "read");
      const data: Record<string, unknown> = {
        "token/": this.#mountInfo("token", "auth_token_0", "token based credentials", null),
      };
      for (const [m, a] of this.#auth) {
        data[`${m}/`] = this.#mountInfo("approle", a.accessor, a.description, null);
      }
      return envelope({ ...data, data });
    }
    if (ctx.method === "POST") {
      this.#allow(token, ctx.path, "update");
      if (ctx.body.type !== "approle") {
        fail(400, `plugin not found in the catalog: ${ctx.body.type}`);
      }
      if (name === "token" || this.#auth.has(name)) fail(400, `path is already in use at ${name}/`);
      this.#enableAppRole(name, String(ctx.body.description ?? ""));
      return noContent();
    }
    if (ctx.method === "DELETE") {
      this.#allow(token, ctx.path, "delete");
      this.#auth.delete(name);
      for (const [id, t] of this.#tokens) if (t.role?.mount === name) this.#tokens.delete(id);
      return noContent();
    }
    fail(405, "unsupported operation");
  }

  #enableAppRole(name: string, description: string): void {
    this.#auth.set(name, {
      accessor: `auth_approle_${randomId(4)}`,
      description,
      roles: new Map(),
      secretIds: new Map(),
    });
  }

  #sysMounts(ctx: Ctx, token: TokenEntry): Response {
    const name = ctx.path.slice("sys/mounts/".length).replace(/\/$/, "");
    if (ctx.path === "sys/mounts") {
      if (ctx.method !== "GET") fail(405, "unsupported operation");
      this.#allow(token, ctx.path, "read");
      const data: Record<string, unknown> = {
        "sys/": this.#mountInfo("system", "system_0", "system endpoints", null),
      };
      for (const [m, kv] of this.#kv) {
        data[`${m}/`] = this.#mountInfo("kv", kv.accessor, kv.description, { version: "2" });
      }
      return envelope({ ...data, data });
    }
    if (ctx.method === "GET") {
      this.#allow(token, ctx.path, "read");
      const kv = this.#kv.get(name);
      if (!kv) fail(400, `No secret engine mount at ${name}/`);
      return envelope({
        data: this.#mountInfo("kv", kv.accessor, kv.description, { version: "2" }),
      });
    }
    if (ctx.method === "POST") {
      this.#allow(token, ctx.path, "update");
      const type = ctx.body.type;
      const options = (ctx.body.options ?? {}) as Record<string, unknown>;
      const v2 = type === "kv-v2" || (type === "kv" && String(options.version) === "2");
      if (!v2) fail(400, `test server: only KV version 2 mounts are supported (type ${type})`);
      if (/^(sys|auth|cubbyhole|identity)(\/|$)/.test(name) || !name) {
        fail(400, `cannot mount under reserved path "${name}/"`);
      }
      if (this.#kv.has(name)) fail(400, `path is already in use at ${name}/`);
      this.#kv.set(name, {
        accessor: `kv_${randomId(4)}`,
        description: String(ctx.body.description ?? ""),
        entries: new Map(),
      });
      return noContent();
    }
    if (ctx.method === "DELETE") {
      this.#allow(token, ctx.path, "delete");
      this.#kv.delete(name);
      return noContent();
    }
    fail(405, "unsupported operation");
  }

  #sysPolicies(ctx: Ctx, token: TokenEntry): Response {
    if (ctx.path === "sys/policies/acl") {
      if (ctx.method !== "LIST") fail(405, "unsupported operation");
      this.#allow(token, ctx.path, "list");
      const keys = [...this.#policies.keys(), "root"].sort();
      return envelope({ data: { keys, policies: keys } });
    }
    const name = ctx.path.slice("sys/policies/acl/".length);
    switch (ctx.method) {
      case "GET": {
        this.#allow(token, ctx.path, "read");
        const p = this.#policies.get(name);
        if (!p) fail(404);
        return envelope({ data: { name, policy: p.text } });
      }
      case "POST": {
        this.#allow(token, ctx.path, "update");
        if (name === "root") fail(400, 'cannot update "root" policy');
        if (!/^[\w.-]+$/.test(name)) fail(400, "invalid policy name");
        if (typeof ctx.body.policy !== "string") fail(400, "'policy' parameter not supplied");
        let rules: Rule[];
        try {
          rules = parsePolicy(ctx.body.policy);
        } catch (err) {
          fail(400, `failed to parse policy: ${(err as Error).message}`);
        }
        this.#policies.set(name, { text: ctx.body.policy, rules });
        return noContent();
      }
      case "DELETE":
        this.#allow(token, ctx.path, "delete");
        if (name === "root" || name === "default") fail(400, `cannot delete "${name}" policy`);
        this.#policies.delete(name);
        return noContent();
    }
    fail(405, "unsupported operation");
  }

  // -------------------------------------------------------------------------------------------
  // AppRole

  #appRole(ctx: Ctx, token: TokenEntry, mountName: string, rest: string): Response {
    const mount = this.#auth.get(mountName)!;
    if (rest === "role") {
      if (ctx.method !== "LIST") fail(405, "unsupported operation");
      this.#allow(token, ctx.path, "list");
      if (!mount.roles.size) fail(404);
      return envelope({ data: { keys: [...mount.roles.keys()].sort() } });
    }
    const m = /^role\/([\w.-]+)(?:\/(.+))?$/.exec(rest);
    if (!m) fail(404);
    const [, name, sub] = m;
    const role = mount.roles.get(name);
    if (sub === undefined) {
      switch (ctx.method) {
        case "GET":
          this.#allow(token, ctx.path, "read");
          if (!role) fail(404);
          return envelope({ data: roleData(role) });
        case "POST":
          this.#allow(token, ctx.path, role ? "update" : "create");
          mount.roles.set(name, updateRole(role, name, ctx.body));
          return noContent();
        case "DELETE":
          this.#allow(token, ctx.path, "delete");
          mount.roles.delete(name);
          for (const [id, s] of mount.secretIds) if (s.role === name) mount.secretIds.delete(id);
          return noContent();
      }
      fail(405, "unsupported operation");
    }
    if (!role) fail(400, `role "${name}" does not exist`);
    this.#pruneSecretIds(mount);
    switch (`${ctx.method} ${sub}`) {
      case "GET role-id":
        this.#allow(token, ctx.path, "read");
        return envelope({ data: { role_id: role.roleId } });
      case "POST role-id": {
        this.#allow(token, ctx.path, "update");
        if (typeof ctx.body.role_id !== "string" || !ctx.body.role_id) {
          fail(400, "missing role_id");
        }
        role.roleId = ctx.body.role_id;
        return noContent();
      }
      case "POST secret-id":
        this.#allow(token, ctx.path, "update");
        return envelope({ data: this.#generateSecretId(mount, role, ctx.body) });
      case "LIST secret-id": {
        this.#allow(token, ctx.path, "list");
        const keys = [...mount.secretIds.values()].filter((s) => s.role === name).map((s) =>
          s.accessor
        );
        if (!keys.length) fail(404);
        return envelope({ data: { keys } });
      }
      case "POST secret-id/destroy":
      case "DELETE secret-id/destroy": {
        this.#allow(token, ctx.path, "update");
        const id = String(ctx.body.secret_id ?? "");
        if (mount.secretIds.get(id)?.role === name) mount.secretIds.delete(id);
        return noContent();
      }
      case "POST secret-id-accessor/destroy":
      case "DELETE secret-id-accessor/destroy": {
        this.#allow(token, ctx.path, "update");
        const accessor = String(ctx.body.secret_id_accessor ?? "");
        const found = [...mount.secretIds].find(([, s]) =>
          s.role === name && s.accessor === accessor
        );
        if (!found) fail(400, "failed to find accessor entry for secret_id_accessor");
        mount.secretIds.delete(found[0]);
        return noContent();
      }
    }
    fail(404);
  }

  #pruneSecretIds(mount: AuthMount): void {
    const now = this.clock.now();
    for (const [id, s] of mount.secretIds) {
      if (s.expiresAt !== null && s.expiresAt <= now) mount.secretIds.delete(id);
    }
  }

  #generateSecretId(mount: AuthMount, role: Role, body: Record<string, unknown>) {
    const ttl = body.ttl === undefined ? role.secretIdTtl : parseDuration(body.ttl, "ttl");
    const uses = body.num_uses === undefined
      ? role.secretIdNumUses
      : parseCount(body.num_uses, "num_uses");
    if (role.secretIdTtl > 0 && (ttl === 0 || ttl > role.secretIdTtl)) {
      fail(400, "ttl cannot be longer than the role's secret_id_ttl");
    }
    if (role.secretIdNumUses > 0 && (uses === 0 || uses > role.secretIdNumUses)) {
      fail(400, "num_uses cannot be higher than the role's secret_id_num_uses");
    }
    const secretId = crypto.randomUUID();
    const accessor = crypto.randomUUID();
    const now = this.clock.now();
    mount.secretIds.set(secretId, {
      role: role.name,
      accessor,
      createdAt: now,
      expiresAt: ttl > 0 ? now + ttl * 1000 : null,
      usesLeft: uses > 0 ? uses : null,
      ttlSec: ttl,
      numUses: uses,
    });
    return {
      secret_id_accessor: accessor,
      secret_id: secretId,
      secret_id_ttl: ttl,
      secret_id_num_uses: uses,
    };
  }

  #login(ctx: Ctx, mountName: string): Response {
    const mount = this.#auth.get(mountName)!;
    this.#pruneSecretIds(mount);
    const roleId = ctx.body.role_id;
    if (typeof roleId !== "string" || !roleId) fail(400, "missing role_id");
    const role = [...mount.roles.values()].find((r) => r.roleId === roleId);
    if (!role) fail(400, "invalid role or secret ID");
    if (role.bindSecretId) {
      const secretId = ctx.body.secret_id;
      if (typeof secretId !== "string" || !secretId) fail(400, "missing secret_id");
      const entry = mount.secretIds.get(secretId);
      if (!entry || entry.role !== role.name) fail(400, "invalid role or secret ID");
      if (entry.usesLeft !== null && --entry.usesLeft <= 0) mount.secretIds.delete(secretId);
    }
    const maxTtl = role.tokenMaxTtl || SYSTEM_MAX_TTL;
    const ttl = Math.min(role.tokenTtl || SYSTEM_MAX_TTL, maxTtl);
    const policies = [
      ...new Set([...(role.tokenNoDefaultPolicy ? [] : ["default"]), ...role.tokenPolicies]),
    ].sort();
    const token = this.#issueToken({
      policies,
      tokenPolicies: policies,
      ttlSec: ttl,
      maxTtlSec: maxTtl,
      renewable: true,
      path: ctx.path,
      meta: { role_name: role.name },
      entityId: crypto.randomUUID(),
      role: { mount: mountName, name: role.name },
    });
    return envelope({ auth: this.#authObject(token, ttl) });
  }

  // -------------------------------------------------------------------------------------------
  // KV v2

  #kvRoute(ctx: Ctx, token: TokenEntry, mountName: string, rest: string): Response {
    const mount = this.#kv.get(mountName)!;
    const [, op, key = ""] = /^([a-z]+)(?:\/(.*))?$/.exec(rest) ?? [];
    const entry = mount.entries.get(key);
    const now = this.clock.now();
    switch (`${ctx.method} ${op}`) {
      case "GET data": {
        this.#allow(token, ctx.path, "read");
        const wanted = Number(ctx.url.searchParams.get("version") ?? 0) || entry?.current;
        const version = wanted === undefined ? undefined : entry?.versions.get(wanted);
        if (!entry || !version || wanted === undefined) fail(404);
        const metadata = versionMetadata(version, wanted);
        if (version.deleted !== null || version.destroyed) {
          return envelope({ data: { data: null, metadata } }, 404);
        }
        return envelope({ data: { data: structuredClone(version.data), metadata } });
      }
      case "POST data": {
        this.#allow(token, ctx.path, entry ? "update" : "create");
        const data = ctx.body.data;
        if (!data || typeof data !== "object" || Array.isArray(data)) fail(400, "no data provided");
        const cas = (ctx.body.options as Record<string, unknown> | undefined)?.cas;
        if (cas !== undefined && Number(cas) !== (entry?.current ?? 0)) {
          fail(400, "check-and-set parameter did not match the current version");
        }
        const target = entry ?? { versions: new Map(), current: 0, created: now, updated: now };
        target.current += 1;
        target.updated = now;
        const version: KvVersion = {
          data: structuredClone(data as Record<string, unknown>),
          created: now,
          deleted: null,
          destroyed: false,
        };
        target.versions.set(target.current, version);
        mount.entries.set(key, target);
        return envelope({ data: versionMetadata(version, target.current) });
      }
      case "DELETE data": {
        this.#allow(token, ctx.path, "delete");
        const latest = entry?.versions.get(entry.current);
        if (latest && latest.deleted === null) latest.deleted = now;
        return noContent();
      }
      case "POST delete":
      case "POST undelete":
      case "POST destroy": {
        this.#allow(token, ctx.path, "update");
        const versions = Array.isArray(ctx.body.versions) ? ctx.body.versions.map(Number) : [];
        if (!versions.length) fail(400, "no version number provided");
        for (const n of versions) {
          const v = entry?.versions.get(n);
          if (!v) continue;
          if (op === "delete" && v.deleted === null) v.deleted = now;
          if (op === "undelete" && !v.destroyed) v.deleted = null;
          if (op === "destroy") {
            v.destroyed = true;
            v.data = {};
          }
        }
        return noContent();
      }
      case "GET metadata": {
        this.#allow(token, ctx.path, "read");
        if (!entry) fail(404);
        const versions = Object.fromEntries(
          [...entry.versions].map(([n, v]) => [String(n), {
            created_time: iso(v.created),
            deletion_time: v.deleted === null ? "" : iso(v.deleted),
            destroyed: v.destroyed,
          }]),
        );
        return envelope({
          data: {
            cas_required: false,
            created_time: iso(entry.created),
            current_version: entry.current,
            custom_metadata: null,
            delete_version_after: "0s",
            max_versions: 0,
            oldest_version: Math.min(...entry.versions.keys()),
            updated_time: iso(entry.updated),
            versions,
          },
        });
      }
      case "LIST metadata": {
        this.#allow(token, ctx.path, "list");
        const prefix = key && !key.endsWith("/") ? `${key}/` : key;
        const keys = new Set<string>();
        for (const k of mount.entries.keys()) {
          if (!k.startsWith(prefix)) continue;
          const tail = k.slice(prefix.length);
          const slash = tail.indexOf("/");
          keys.add(slash < 0 ? tail : tail.slice(0, slash + 1));
        }
        if (!keys.size) fail(404);
        return envelope({ data: { keys: [...keys].sort() } });
      }
      case "DELETE metadata":
        this.#allow(token, ctx.path, "delete");
        mount.entries.delete(key);
        return noContent();
      case "GET config":
        this.#allow(token, ctx.path, "read");
        return envelope({
          data: { cas_required: false, delete_version_after: "0s", max_versions: 0 },
        });
    }
    if (["data", "metadata", "delete", "undelete", "destroy", "config"].includes(op)) {
      fail(405, "unsupported operation");
    }
    return envelope({ warnings: [KV_V1_PATH_WARNING] }, 404);
  }
}

function methodOf(req: Request, url: URL): Ctx["method"] {
  const m = req.method.toUpperCase();
  if (m === "LIST" || (m === "GET" && url.searchParams.get("list") === "true")) return "LIST";
  if (m === "PUT" || m === "POST") return "POST";
  if (m === "GET" || m === "HEAD") return "GET";
  if (m === "DELETE" || m === "PATCH") return m;
  fail(405, "unsupported operation");
}

async function bodyOf(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail(400, "error parsing JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) fail(400, "error parsing JSON");
  return body as Record<string, unknown>;
}

function roleData(role: Role): Record<string, unknown> {
  return {
    bind_secret_id: role.bindSecretId,
    local_secret_ids: false,
    secret_id_bound_cidrs: null,
    secret_id_num_uses: role.secretIdNumUses,
    secret_id_ttl: role.secretIdTtl,
    token_bound_cidrs: [],
    token_explicit_max_ttl: 0,
    token_max_ttl: role.tokenMaxTtl,
    token_no_default_policy: role.tokenNoDefaultPolicy,
    token_num_uses: 0,
    token_period: 0,
    token_policies: role.tokenPolicies,
    policies: role.tokenPolicies,
    token_ttl: role.tokenTtl,
    token_type: "default",
    period: 0,
  };
}

/** Creates a role or updates the fields present in `body` (Vault's create/update semantics). */
function updateRole(existing: Role | undefined, name: string, body: Record<string, unknown>): Role {
  const role: Role = existing ? { ...existing } : {
    name,
    roleId: crypto.randomUUID(),
    bindSecretId: true,
    tokenTtl: 0,
    tokenMaxTtl: 0,
    tokenPolicies: [],
    tokenNoDefaultPolicy: false,
    secretIdTtl: 0,
    secretIdNumUses: 0,
  };
  if (body.bind_secret_id !== undefined) role.bindSecretId = body.bind_secret_id === true;
  if (body.token_ttl !== undefined) role.tokenTtl = parseDuration(body.token_ttl, "token_ttl");
  if (body.token_max_ttl !== undefined) {
    role.tokenMaxTtl = parseDuration(body.token_max_ttl, "token_max_ttl");
  }
  const policies = body.token_policies ?? body.policies;
  if (policies !== undefined) role.tokenPolicies = parseList(policies);
  if (body.token_no_default_policy !== undefined) {
    role.tokenNoDefaultPolicy = body.token_no_default_policy === true;
  }
  if (body.secret_id_ttl !== undefined) {
    role.secretIdTtl = parseDuration(body.secret_id_ttl, "secret_id_ttl");
  }
  if (body.secret_id_num_uses !== undefined) {
    role.secretIdNumUses = parseCount(body.secret_id_num_uses, "secret_id_num_uses");
  }
  if (body.token_type !== undefined && !["service", "default"].includes(String(body.token_type))) {
    fail(400, "test server: only service tokens are supported");
  }
  if (role.tokenMaxTtl > 0 && role.tokenTtl > role.tokenMaxTtl) {
    fail(400, "token_ttl should not be greater than token_max_ttl");
  }
  if (!role.bindSecretId) fail(400, "at least one constraint should be enabled on the role");
  return role;
}

function versionMetadata(v: KvVersion, version: number): Record<string, unknown> {
  return {
    created_time: iso(v.created),
    custom_metadata: null,
    deletion_time: v.deleted === null ? "" : iso(v.deleted),
    destroyed: v.destroyed,
    version,
  };
}

function hexToBase64(hex: string): string {
  return btoa(String.fromCharCode(...hex.match(/../g)!.map((h) => parseInt(h, 16))));
}

function base64ToHex(b64: string): string {
  try {
    return Array.from(atob(b64), (c) => c.charCodeAt(0).toString(16).padStart(2, "0")).join("");
  } catch {
    return "";
  }
}

/** Starts a Vault test server on 127.0.0.1 (a free port unless `port` is given). */
export function startVaultTestServer(options: VaultTestServerOptions = {}): VaultTestServer {
  return new VaultTestServer(options);
}

if (import.meta.main) {
  const server = startVaultTestServer({
    port: Number(Deno.env.get("VAULT_TEST_PORT") ?? 8200),
    clock: systemClock,
    rootToken: Deno.env.get("VAULT_TEST_ROOT_TOKEN"),
  });
  // deno-lint-ignore no-console
  console.log(JSON.stringify({ addr: server.addr, root_token: server.rootToken }));
}
