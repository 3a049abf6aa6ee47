/**
 * A Vault test server: a real HTTP server on 127.0.0.1 that speaks the Vault API shapes the app
 * and the init script use (see `reference/vault.md` §2). It is an honest double, not a mock:
 * envelopes, `{"errors":[…]}` bodies, 403 for bad tokens, path-glob ACL policies, AppRole,
 * token lifetimes on a controllable clock, seal/init/unseal, KV v2 with versions and cas, and
 * fault injection. Everything is in memory.
 *
 * Layout: this file holds the server and its test controls; `dispatch.ts` routes a request to
 * its API area in `api/` (`sys`, `sys_mounts`, `sys_policies`, `token`, `approle`, `kv`);
 * `state.ts` is the in-memory state, `access.ts` tokens and ACL checks, `policy.ts` the policy
 * parser, `faults.ts` the injected faults, `reply.ts` Vault's answer shapes.
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
import { dispatch } from "./dispatch.ts";
import { FaultQueue, type VaultFault } from "./faults.ts";
import { Reply } from "./reply.ts";
import { VaultState } from "./state.ts";

export type { VaultFault } from "./faults.ts";

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

/** One request as the server saw it (no bodies, no tokens). */
export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
}

/** A running Vault test server; create it with `startVaultTestServer`. */
export class VaultTestServer {
  /** Base address, e.g. `http://127.0.0.1:41234`. */
  readonly addr: string;
  /** The server's clock (a `ManualClock` unless one was passed). */
  readonly clock: Clock;
  /** Every request seen, oldest first (method, API path, status). */
  readonly requests: RecordedRequest[] = [];

  #server: Deno.HttpServer<Deno.NetAddr>;
  #state: VaultState;
  #faults = new FaultQueue();
  #closing = new AbortController();

  /** @internal use `startVaultTestServer`. */
  constructor(options: VaultTestServerOptions) {
    this.clock = options.clock ?? new ManualClock();
    const state = this.#state = new VaultState(this.clock, options.legacyForbidden ?? false);
    if (options.initialized ?? true) {
      state.initialize(1, 1, options.rootToken);
      state.sealed = options.sealed ?? false;
    }
    for (const m of options.kvMounts ?? ["secret"]) state.mountKv(m, "");
    for (const m of options.approleMounts ?? []) state.enableAppRole(m, "");
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: options.port ?? 0, onListen: () => {} },
      (req) => this.#handle(req),
    );
    this.addr = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The current root token (set at start, or by `sys/init`). */
  get rootToken(): string {
    return this.#state.rootToken;
  }

  /** Unseal key shares (hex), as `sys/init` returned them. */
  get unsealKeys(): readonly string[] {
    return this.#state.unsealKeys;
  }

  /** Whether the server is sealed. */
  get sealed(): boolean {
    return this.#state.sealed;
  }

  /** Moves the clock forward (requires the default `ManualClock`). */
  async advance(ms: number): Promise<void> {
    if (!(this.clock instanceof ManualClock)) throw new Error("the server clock is not manual");
    await this.clock.advance(ms);
  }

  /** Seals the server (like `sys/seal`). */
  seal(): void {
    this.#state.seal();
  }

  /** Unseals without key shares (test shortcut). */
  unseal(): void {
    if (!this.#state.initialized) throw new Error("not initialized");
    this.#state.sealed = false;
    this.#state.unsealProgress.clear();
  }

  /** Revokes every token except the root token (as if their leases were revoked). */
  revokeAllTokens(): void {
    const { tokens, rootToken } = this.#state;
    for (const id of [...tokens.keys()]) if (id !== rootToken) tokens.delete(id);
  }

  /** Number of live (unexpired, unrevoked) tokens other than root. */
  activeTokens(): number {
    const now = this.clock.now();
    return [...this.#state.tokens.values()].filter((t) =>
      t.id !== this.#state.rootToken && (t.expiresAt === null || t.expiresAt > now)
    ).length;
  }

  /** Number of AppRole secret ids currently valid on a role. */
  secretIdCount(role: string, mount = "approle"): number {
    const m = this.#state.auth.get(mount);
    if (!m) return 0;
    return [...m.secretIds.values()].filter((s) => s.role === role).length;
  }

  /**
   * Injects `fault` into the next `times` requests (whose API path starts with `path`, when
   * given). Faults are consumed in the order injected.
   */
  inject(fault: VaultFault, options: { times?: number; path?: string } = {}): void {
    this.#faults.inject(fault, options);
  }

  /** Calls the API with the root token; returns the parsed body, throws on >= 400. */
  async admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${this.addr}/v1/${path}`, {
      method,
      headers: { "X-Vault-Token": this.#state.rootToken },
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

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const path = url.pathname.startsWith("/v1/") ? url.pathname.slice(4) : "";
    let response: Response;
    try {
      response = await this.#faults.take(path, this.#closing.signal) ??
        await dispatch(this.#state, req, url, path);
    } catch (err) {
      if (!(err instanceof Reply)) throw err;
      response = err.response;
    }
    this.requests.push({ method: req.method, path, status: response.status });
    return response;
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
