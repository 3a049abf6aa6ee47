import { assert, assertEquals, assertNotEquals } from "../../../tests/support/assert.ts";
import { phoneNames, scopeKey } from "./names.ts";

Deno.test("[phone] names: every browser-wide name of a scoped phone carries its scope", () => {
  const names = phoneNames("phone", "0123abcd");
  assertEquals(
    [names.worker, names.bus, names.hostLock, names.tabLock("tab-1")],
    [
      "phone-0123abcd-engine",
      "phone-0123abcd-bus",
      "phone-0123abcd-host",
      "phone-0123abcd-tab-tab-1",
    ],
  );
  const other = phoneNames("phone", "4567ef01");
  assertNotEquals(other.worker, names.worker);
  assertNotEquals(other.bus, names.bus);
  assertNotEquals(other.hostLock, names.hostLock);
});

Deno.test("[phone] names: without a scope, the name alone (one phone per name)", () => {
  const names = phoneNames("test-1");
  assertEquals(
    [names.worker, names.bus, names.hostLock, names.tabLock("t")],
    ["test-1-engine", "test-1-bus", "test-1-host", "test-1-tab-t"],
  );
});

Deno.test("[phone] names: a scope key is stable, apart per part, and hides its parts", async () => {
  const key = await scopeKey("bitrix24", "a1b2c3", 2);
  assertEquals(key, await scopeKey("bitrix24", "a1b2c3", 2), "the same in every page");
  assert(/^[0-9a-f]{32}$/.test(key), key);
  assert(!key.includes("a1b2c3"));
  const others = await Promise.all([
    scopeKey("bitrix24", "a1b2c3", 3),
    scopeKey("bitrix24", "d4e5f6", 2),
    // Parts are kept apart: no joining of "a1b2c" and "3" into another member id.
    scopeKey("bitrix24", "a1b2c", "32"),
  ]);
  assertEquals(new Set([key, ...others]).size, 4);
});
