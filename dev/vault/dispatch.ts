/**
 * Routes one `/v1/` request the way Vault does: the seal endpoints answer sealed or not; then
 * 503 while sealed; AppRole logins need no token; everything else authenticates the token,
 * then goes to its API area (the token's own endpoints, `sys/*`, an AppRole mount, or the
 * longest KV v2 mount that prefixes the path). Handlers throw `Reply` to answer early.
 *
 * @module
 */
import { authenticate } from "./access.ts";
import { appRole, login } from "./api/approle.ts";
import { kvRoute } from "./api/kv.ts";
import { health, init, seal, sealStatus, unseal } from "./api/sys.ts";
import { sysAuth, sysMounts } from "./api/sys_mounts.ts";
import { sysPolicies } from "./api/sys_policies.ts";
import { tokenSelf } from "./api/token.ts";
import { only, readCtx } from "./context.ts";
import { fail, json } from "./reply.ts";
import type { VaultState } from "./state.ts";

/** `path` is the API path after `/v1/` ("" when the URL is not under `/v1/`). */
export async function dispatch(
  state: VaultState,
  req: Request,
  url: URL,
  path: string,
): Promise<Response> {
  if (!url.pathname.startsWith("/v1/")) fail(404);
  const ctx = await readCtx(state, req, url, path);

  switch (path) {
    case "sys/health":
      return health(ctx);
    case "sys/seal-status":
      return only(ctx, ["GET"], () => json(200, sealStatus(state)));
    case "sys/init":
      return init(ctx);
    case "sys/unseal":
      return only(ctx, ["POST"], () => unseal(ctx));
  }
  if (!state.initialized || state.sealed) fail(503, "Vault is sealed");

  const loginMount = /^auth\/(.+)\/login$/.exec(path)?.[1];
  if (loginMount && state.auth.has(loginMount)) {
    return only(ctx, ["POST"], () => login(ctx, loginMount));
  }

  const token = authenticate(state, req);
  if (path.startsWith("auth/token/")) return tokenSelf(ctx, token);
  if (path === "sys/seal") return only(ctx, ["POST"], () => seal(ctx, token));
  if (path === "sys/auth" || path.startsWith("sys/auth/")) return sysAuth(ctx, token);
  if (path === "sys/mounts" || path.startsWith("sys/mounts/")) return sysMounts(ctx, token);
  if (path === "sys/policies/acl" || path.startsWith("sys/policies/acl/")) {
    return sysPolicies(ctx, token);
  }
  const approle = [...state.auth.keys()].find((m) => path.startsWith(`auth/${m}/`));
  if (approle) return appRole(ctx, token, approle, path.slice(`auth/${approle}/`.length));
  const kv = [...state.kv.keys()].sort((a, b) => b.length - a.length)
    .find((m) => path === m || path.startsWith(`${m}/`));
  if (kv) return kvRoute(ctx, token, kv, path.slice(kv.length + 1));
  fail(404);
}
