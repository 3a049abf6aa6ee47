/**
 * `sys/policies/acl`: list, read, write (parsed, so a bad policy is refused) and delete ACL
 * policies; `root` cannot be changed, `default` cannot be deleted.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { parsePolicy, type Rule } from "../policy.ts";
import { envelope, fail, noContent } from "../reply.ts";
import type { TokenEntry } from "../state.ts";

/** `sys/policies/acl` and `sys/policies/acl/<name>`. */
export function sysPolicies(ctx: Ctx, token: TokenEntry): Response {
  const { state } = ctx;
  if (ctx.path === "sys/policies/acl") {
    if (ctx.method !== "LIST") fail(405, "unsupported operation");
    allow(state, token, ctx.path, "list");
    const keys = [...state.policies.keys(), "root"].sort();
    return envelope({ data: { keys, policies: keys } });
  }
  const name = ctx.path.slice("sys/policies/acl/".length);
  switch (ctx.method) {
    case "GET": {
      allow(state, token, ctx.path, "read");
      const p = state.policies.get(name);
      if (!p) fail(404);
      return envelope({ data: { name, policy: p.text } });
    }
    case "POST": {
      allow(state, token, ctx.path, "update");
      if (name === "root") fail(400, 'cannot update "root" policy');
      if (!/^[\w.-]+$/.test(name)) fail(400, "invalid policy name");
      if (typeof ctx.body.policy !== "string") fail(400, "'policy' parameter not supplied");
      let rules: Rule[];
      try {
        rules = parsePolicy(ctx.body.policy);
      } catch (err) {
        fail(400, `failed to parse policy: ${(err as Error).message}`);
      }
      state.policies.set(name, { text: ctx.body.policy, rules });
      return noContent();
    }
    case "DELETE":
      allow(state, token, ctx.path, "delete");
      if (name === "root" || name === "default") fail(400, `cannot delete "${name}" policy`);
      state.policies.delete(name);
      return noContent();
  }
  fail(405, "unsupported operation");
}
