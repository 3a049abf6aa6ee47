import assert from "node:assert/strict";
import { allow } from "./access.ts";
import { parsePolicy } from "./policy.ts";
import { Reply } from "./reply.ts";
import { type TokenEntry, VaultState } from "./state.ts";
import { ManualClock } from "./clock.ts";

Deno.test("[vault policy] parses path blocks with globs and + segments; refuses the rest", () => {
  const [glob, plus, exact] = parsePolicy(`
    # the app's folder
    path "secret/data/app/*" { capabilities = ["read", "list"] }
    path "secret/data/+/shared" { capabilities = ["read"] } // any tenant
    path "/auth/token/lookup-self" { capabilities = ["read"] }
  `);
  assert.ok(glob.regex.test("secret/data/app/db") && !glob.exact);
  assert.deepEqual([...glob.caps], ["read", "list"]);
  assert.ok(plus.regex.test("secret/data/x/shared") && !plus.regex.test("secret/data/x/y/shared"));
  assert.ok(exact.exact && exact.pattern === "auth/token/lookup-self");
  assert.throws(() => parsePolicy(`path "a" { capabilities = ["fly"] }`), /invalid capability/);
  assert.throws(() => parsePolicy(`path "a" { }`), /no capabilities/);
  assert.throws(() => parsePolicy(`key "a" {}`), /outside path blocks/);
});

Deno.test("[vault policy] the most specific rule wins, deny beats all, root passes", () => {
  const state = new VaultState(new ManualClock(), false);
  state.policies.set("app", {
    text: "",
    rules: parsePolicy(`
      path "secret/*" { capabilities = ["read"] }
      path "secret/data/app/*" { capabilities = ["read", "update"] }
      path "secret/data/app/locked" { capabilities = ["deny"] }
    `),
  });
  const token = { policies: ["app"] } as TokenEntry;
  const allowed = (path: string, cap: "read" | "update") => {
    try {
      allow(state, token, path, cap);
      return true;
    } catch (err) {
      if (!(err instanceof Reply)) throw err;
      assert.equal(err.response.status, 403);
      return false;
    }
  };
  assert.ok(allowed("secret/data/other", "read"));
  assert.ok(!allowed("secret/data/other", "update"));
  assert.ok(allowed("secret/data/app/db", "update"));
  assert.ok(!allowed("secret/data/app/locked", "read"));
  assert.ok(!allowed("sys/mounts", "read"));
  allow(state, { policies: ["root"] } as TokenEntry, "sys/mounts", "update");
});
