/**
 * AppRole under `auth/<mount>/`: roles (create/update with Vault's semantics, read, list,
 * delete), role ids, secret ids (generate within the role's TTL and use limits, list by
 * accessor, destroy), and `login`, which issues a renewable service token.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { parseCount, parseDuration, parseList } from "../params.ts";
import { envelope, fail, noContent } from "../reply.ts";
import {
  type AuthMount,
  type Role,
  SYSTEM_MAX_TTL,
  type TokenEntry,
  type VaultState,
} from "../state.ts";
import { authObject } from "./token.ts";

/** `auth/<mount>/role…` (`rest` is the path after `auth/<mount>/`). */
export function appRole(ctx: Ctx, token: TokenEntry, mountName: string, rest: string): Response {
  const { state } = ctx;
  const mount = state.auth.get(mountName)!;
  if (rest === "role") {
    if (ctx.method !== "LIST") fail(405, "unsupported operation");
    allow(state, token, ctx.path, "list");
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
        allow(state, token, ctx.path, "read");
        if (!role) fail(404);
        return envelope({ data: roleData(role) });
      case "POST":
        allow(state, token, ctx.path, role ? "update" : "create");
        mount.roles.set(name, updateRole(role, name, ctx.body));
        return noContent();
      case "DELETE":
        allow(state, token, ctx.path, "delete");
        mount.roles.delete(name);
        for (const [id, s] of mount.secretIds) if (s.role === name) mount.secretIds.delete(id);
        return noContent();
    }
    fail(405, "unsupported operation");
  }
  if (!role) fail(400, `role "${name}" does not exist`);
  pruneSecretIds(state, mount);
  switch (`${ctx.method} ${sub}`) {
    case "GET role-id":
      allow(state, token, ctx.path, "read");
      return envelope({ data: { role_id: role.roleId } });
    case "POST role-id": {
      allow(state, token, ctx.path, "update");
      if (typeof ctx.body.role_id !== "string" || !ctx.body.role_id) {
        fail(400, "missing role_id");
      }
      role.roleId = ctx.body.role_id;
      return noContent();
    }
    case "POST secret-id":
      allow(state, token, ctx.path, "update");
      return envelope({ data: generateSecretId(state, mount, role, ctx.body) });
    case "LIST secret-id": {
      allow(state, token, ctx.path, "list");
      const keys = [...mount.secretIds.values()].filter((s) => s.role === name).map((s) =>
        s.accessor
      );
      if (!keys.length) fail(404);
      return envelope({ data: { keys } });
    }
    case "POST secret-id/destroy":
    case "DELETE secret-id/destroy": {
      allow(state, token, ctx.path, "update");
      const id = String(ctx.body.secret_id ?? "");
      if (mount.secretIds.get(id)?.role === name) mount.secretIds.delete(id);
      return noContent();
    }
    case "POST secret-id-accessor/destroy":
    case "DELETE secret-id-accessor/destroy": {
      allow(state, token, ctx.path, "update");
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

function pruneSecretIds(state: VaultState, mount: AuthMount): void {
  const now = state.clock.now();
  for (const [id, s] of mount.secretIds) {
    if (s.expiresAt !== null && s.expiresAt <= now) mount.secretIds.delete(id);
  }
}

function generateSecretId(
  state: VaultState,
  mount: AuthMount,
  role: Role,
  body: Record<string, unknown>,
) {
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
  const now = state.clock.now();
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

/** `auth/<mount>/login` with `role_id` and (when bound) `secret_id`. */
export function login(ctx: Ctx, mountName: string): Response {
  const { state } = ctx;
  const mount = state.auth.get(mountName)!;
  pruneSecretIds(state, mount);
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
  const token = state.issueToken({
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
  return envelope({ auth: authObject(token, ttl) });
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
