import assert from "node:assert/strict";
import { VaultError, vaultErrorKind, vaultErrorOf } from "./errors.ts";

Deno.test("[vault errors] status, Vault's errors and the path decide the kind", () => {
  const cases: [number, string[], string, string][] = [
    [400, [], "auth/approle/login", "invalid_credentials"],
    [400, [], "secret/data/app", "bad_request"],
    [403, ["permission denied"], "secret/data/app", "permission_denied"],
    [403, ["2 errors occurred:\n\t* permission denied\n\t* Invalid Token"], "x", "invalid_token"],
    [404, [], "secret/data/app", "not_found"],
    [405, [], "secret/data/app", "bad_request"],
    [412, [], "secret/data/app", "rate_limited"],
    [429, [], "secret/data/app", "rate_limited"],
    [500, [], "secret/data/app", "server"],
    [502, [], "secret/data/app", "server"],
    [501, [], "sys/health", "uninitialized"],
    [503, ["Vault is sealed"], "secret/data/app", "sealed"],
    [503, [], "secret/data/app", "unavailable"],
    [504, [], "secret/data/app", "server"],
  ];
  for (const [status, errors, path, kind] of cases) {
    assert.equal(vaultErrorKind(status, errors, path), kind, `${status} ${errors} ${path}`);
  }
});

Deno.test("[vault errors] only transient kinds are retryable", () => {
  const retryable = (kind: VaultError["kind"]) => new VaultError(kind, 0, "p").retryable;
  for (const kind of ["network", "timeout", "sealed", "unavailable", "rate_limited", "server"]) {
    assert.ok(retryable(kind as VaultError["kind"]), kind);
  }
  for (const kind of ["invalid_token", "permission_denied", "bad_request", "not_found", "closed"]) {
    assert.ok(!retryable(kind as VaultError["kind"]), kind);
  }
});

Deno.test("[vault errors] the message names kind, status and path, never the body", () => {
  const err = vaultErrorOf(
    { status: 403, body: { errors: ["permission denied"], data: { secret: "s3cr3t" } } },
    "secret/data/bitrix-app/app",
  );
  assert.equal(err.kind, "permission_denied");
  assert.deepEqual(err.errors, ["permission denied"]);
  assert.equal(
    err.message,
    "vault permission denied (check the app's policy) (403) at secret/data/bitrix-app/app",
  );
  assert.equal(err.reason, "vault permission denied (check the app's policy)");
  const bare = vaultErrorOf({ status: 502, body: "<html>bad gateway</html>" }, "sys/health");
  assert.deepEqual(bare.errors, []);
  assert.equal(new VaultError("network", 0, "").message, "vault unreachable (no response)");
});
