import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/support/assert.ts";
import { ConfigError, parseConfig } from "./config.ts";
import { openServices } from "./services.ts";
import type { SecretsProvider } from "./secrets/provider.ts";

/** A Vault-kind provider holding Market credentials (nothing else is asked of it here). */
function vaultWithMarketCredentials(closed: { value: boolean }): SecretsProvider {
  return {
    kind: "vault",
    appSecrets: () => Promise.resolve({ bitrixClientId: "app.1", bitrixClientSecret: "s" }),
    keyRing: () => Promise.reject(new Error("not used")),
    health: () => Promise.resolve({ ok: true }),
    close: () => Promise.resolve(void (closed.value = true)),
  } as SecretsProvider;
}

Deno.test("[services] Market credentials in Vault without BITRIX_APP_CODE stop start-up", async () => {
  const closed = { value: false };
  const err = await assertRejects(() =>
    openServices(parseConfig({ DATABASE_URL: "pglite:memory" }), {
      secrets: vaultWithMarketCredentials(closed),
    })
  );
  assertEquals(err instanceof ConfigError, true);
  assertStringIncludes((err as Error).message, "BITRIX_APP_CODE: required for a Market app");
  assertEquals(closed.value, true);
});
