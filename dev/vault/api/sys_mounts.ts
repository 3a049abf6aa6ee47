/**
 * `sys/auth` (AppRole mounts; the token mount is built in) and `sys/mounts` (KV v2 mounts;
 * `sys/` is built in): list, read, enable, disable.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { envelope, fail, noContent } from "../reply.ts";
import type { TokenEntry } from "../state.ts";

function mountInfo(type: string, accessor: string, description: string, options: unknown) {
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

/** `sys/auth` and `sys/auth/<mount>`. */
export function sysAuth(ctx: Ctx, token: TokenEntry): Response {
  const { state } = ctx;
  const name = ctx.path.slice("sys/auth/".length).replace(/\/$/, "");
  if (ctx.path === "sys/auth") {
    if (ctx.method !== "GET") fail(405, "unsupported operation");
    allow(state, token, ctx.path, "read");
    const data: Record<string, unknown> = {
      "token/": mountInfo("token", "auth_token_0", "token based credentials", null),
    };
    for (const [m, a] of state.auth) {
      data[`${m}/`] = mountInfo("approle", a.accessor, a.description, null);
    }
    return envelope({ ...data, data });
  }
  if (ctx.method === "POST") {
    allow(state, token, ctx.path, "update");
    if (ctx.body.type !== "approle") {
      fail(400, `plugin not found in the catalog: ${ctx.body.type}`);
    }
    if (name === "token" || state.auth.has(name)) fail(400, `path is already in use at ${name}/`);
    state.enableAppRole(name, String(ctx.body.description ?? ""));
    return noContent();
  }
  if (ctx.method === "DELETE") {
    allow(state, token, ctx.path, "delete");
    state.auth.delete(name);
    for (const [id, t] of state.tokens) if (t.role?.mount === name) state.tokens.delete(id);
    return noContent();
  }
  fail(405, "unsupported operation");
}

/** `sys/mounts` and `sys/mounts/<mount>`. */
export function sysMounts(ctx: Ctx, token: TokenEntry): Response {
  const { state } = ctx;
  const name = ctx.path.slice("sys/mounts/".length).replace(/\/$/, "");
  if (ctx.path === "sys/mounts") {
    if (ctx.method !== "GET") fail(405, "unsupported operation");
    allow(state, token, ctx.path, "read");
    const data: Record<string, unknown> = {
      "sys/": mountInfo("system", "system_0", "system endpoints", null),
    };
    for (const [m, kv] of state.kv) {
      data[`${m}/`] = mountInfo("kv", kv.accessor, kv.description, { version: "2" });
    }
    return envelope({ ...data, data });
  }
  if (ctx.method === "GET") {
    allow(state, token, ctx.path, "read");
    const kv = state.kv.get(name);
    if (!kv) fail(400, `No secret engine mount at ${name}/`);
    return envelope({
      data: mountInfo("kv", kv.accessor, kv.description, { version: "2" }),
    });
  }
  if (ctx.method === "POST") {
    allow(state, token, ctx.path, "update");
    const type = ctx.body.type;
    const options = (ctx.body.options ?? {}) as Record<string, unknown>;
    const v2 = type === "kv-v2" || (type === "kv" && String(options.version) === "2");
    if (!v2) fail(400, `test server: only KV version 2 mounts are supported (type ${type})`);
    if (/^(sys|auth|cubbyhole|identity)(\/|$)/.test(name) || !name) {
      fail(400, `cannot mount under reserved path "${name}/"`);
    }
    if (state.kv.has(name)) fail(400, `path is already in use at ${name}/`);
    state.mountKv(name, String(ctx.body.description ?? ""));
    return noContent();
  }
  if (ctx.method === "DELETE") {
    allow(state, token, ctx.path, "delete");
    state.kv.delete(name);
    return noContent();
  }
  fail(405, "unsupported operation");
}
