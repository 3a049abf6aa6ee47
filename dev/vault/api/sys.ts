/**
 * `sys/health`, `sys/seal-status`, `sys/init`, `sys/unseal` (answered sealed or not) and
 * `sys/seal`.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { parseCount } from "../params.ts";
import { fail, json, noContent } from "../reply.ts";
import type { TokenEntry, VaultState } from "../state.ts";

const VERSION = "1.17.0+test";

/** `sys/health`: the status codes can be chosen by `*code` query parameters, as in Vault. */
export function health(ctx: Ctx): Response {
  const { state } = ctx;
  if (ctx.req.method !== "GET" && ctx.req.method !== "HEAD") fail(405, "unsupported operation");
  const code = (name: string, fallback: number) => {
    const v = ctx.url.searchParams.get(name);
    return v && /^\d+$/.test(v) ? Number(v) : fallback;
  };
  const status = !state.initialized
    ? code("uninitcode", 501)
    : state.sealed
    ? code("sealedcode", 503)
    : code("activecode", 200);
  const body = {
    initialized: state.initialized,
    sealed: state.sealed,
    standby: false,
    performance_standby: false,
    replication_performance_mode: "disabled",
    replication_dr_mode: "disabled",
    server_time_utc: Math.floor(state.clock.now() / 1000),
    version: VERSION,
    ...(state.initialized
      ? { cluster_name: "vault-test-cluster", cluster_id: state.clusterId }
      : {}),
  };
  return ctx.req.method === "HEAD" ? new Response(null, { status }) : json(status, body);
}

/** The `sys/seal-status` body (also the answer of `sys/unseal`). */
export function sealStatus(state: VaultState): Record<string, unknown> {
  return {
    type: "shamir",
    initialized: state.initialized,
    sealed: state.sealed,
    t: state.threshold,
    n: state.unsealKeys.length,
    progress: state.unsealProgress.size,
    nonce: "",
    version: VERSION,
    build_date: "2026-01-01T00:00:00Z",
    migration: false,
    recovery_seal: false,
    storage_type: "inmem",
    ...(state.sealed ? {} : { cluster_name: "vault-test-cluster", cluster_id: state.clusterId }),
  };
}

/** `sys/init`: GET tells whether initialized; POST initializes (sealed) and returns keys and root token. */
export function init(ctx: Ctx): Response {
  const { state } = ctx;
  if (ctx.method === "GET") return json(200, { initialized: state.initialized });
  if (ctx.method !== "POST") fail(405, "unsupported operation");
  if (state.initialized) fail(400, "Vault is already initialized");
  const shares = parseCount(ctx.body.secret_shares, "secret_shares");
  const threshold = parseCount(ctx.body.secret_threshold, "secret_threshold");
  if (shares < 1 || threshold < 1 || threshold > shares) {
    fail(400, "invalid seal configuration: threshold must be between 1 and shares");
  }
  const root = state.initialize(shares, threshold);
  state.sealed = true;
  return json(200, {
    keys: state.unsealKeys,
    keys_base64: state.unsealKeys.map(hexToBase64),
    root_token: root,
  });
}

/** `sys/unseal`: one key share (hex or base64) per call until the threshold is reached. */
export function unseal(ctx: Ctx): Response {
  const { state } = ctx;
  if (!state.initialized) fail(400, "Vault is not initialized");
  if (ctx.body.reset === true) {
    state.unsealProgress.clear();
    return json(200, sealStatus(state));
  }
  if (!state.sealed) return json(200, sealStatus(state));
  const key = typeof ctx.body.key === "string" ? ctx.body.key : "";
  if (!key) fail(400, "'key' must be specified in request body as JSON, or 'reset' set to true");
  const hex = /^[0-9a-f]+$/i.test(key) ? key.toLowerCase() : base64ToHex(key);
  if (!state.unsealKeys.includes(hex)) {
    state.unsealProgress.clear();
    fail(400, "Error unsealing: invalid key");
  }
  state.unsealProgress.add(hex);
  if (state.unsealProgress.size >= state.threshold) {
    state.sealed = false;
    state.unsealProgress.clear();
  }
  return json(200, sealStatus(state));
}

/** `sys/seal` (POST, needs `update`). */
export function seal(ctx: Ctx, token: TokenEntry): Response {
  allow(ctx.state, token, ctx.path, "update");
  ctx.state.seal();
  return noContent();
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
