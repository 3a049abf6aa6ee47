import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/support/assert.ts";
import { ConfigError, parseConfig, parseDotenv } from "./config.ts";

Deno.test("[config] defaults give the embedded mode", () => {
  const config = parseConfig({});
  assertEquals(config.PORT, 8000);
  assertEquals(config.HOST, "127.0.0.1");
  assertEquals(config.SECRETS, "local");
  assertEquals(config.DATABASE_URL, undefined);
  assertEquals(config.BITRIX_ALLOWED_OAUTH_HOSTS, ["oauth.bitrix.info", "oauth.bitrix24.tech"]);
  assertEquals(config.BITRIX_ALLOW_INSECURE_PORTALS, false);
  assertEquals(config.BITRIX_PORTAL_HOSTS.includes("*.bitrix24.ru"), true);
  assertEquals(
    config.BITRIX_PORTAL_HOSTS.map((h) => `https://${h}`),
    config.FRAME_ANCESTORS,
  );
  assertEquals(config.FRAME_RECHECK_SECONDS, 300);
});

Deno.test("[config] a bad value names the variable and what is expected", () => {
  const err = assertThrows(() => parseConfig({ PORT: "eighty" }));
  assertEquals(err instanceof ConfigError, true);
  assertStringIncludes(err.message, "PORT");
  assertStringIncludes(
    assertThrows(() => parseConfig({ DATABASE_URL: "mysql://x" })).message,
    "DATABASE_URL: postgres://… or pglite:<dir> or pglite:memory",
  );
  assertStringIncludes(assertThrows(() => parseConfig({ LOG_LEVEL: "loud" })).message, "LOG_LEVEL");
  assertStringIncludes(
    assertThrows(() => parseConfig({ FRAME_RECHECK_SECONDS: "5" })).message,
    "FRAME_RECHECK_SECONDS",
  );
  assertStringIncludes(
    assertThrows(() => parseConfig({ BITRIX_PORTAL_HOSTS: "crm.example.com,https://x/" })).message,
    "BITRIX_PORTAL_HOSTS: host names or *.domain patterns",
  );
  const vault = assertThrows(() => parseConfig({ SECRETS: "vault" })).message;
  assertStringIncludes(vault, "VAULT_ADDR: required when SECRETS=vault");
  assertStringIncludes(vault, "VAULT_ROLE_ID_FILE");
});

Deno.test("[config] lists and booleans parse; unknown variables are ignored", () => {
  const config = parseConfig({
    BITRIX_ALLOWED_OAUTH_HOSTS: "a.example, b.example",
    BITRIX_ALLOW_INSECURE_PORTALS: "1",
    PATH: "/usr/bin",
  });
  assertEquals(config.BITRIX_ALLOWED_OAUTH_HOSTS, ["a.example", "b.example"]);
  assertEquals(config.BITRIX_ALLOW_INSECURE_PORTALS, true);
});

Deno.test("[config] .env parsing", () => {
  assertEquals(
    parseDotenv("# c\nPORT=9000\nexport HOST='0.0.0.0'\nLOG_LEVEL=\"debug\" \nX=1 # note\n\n"),
    { PORT: "9000", HOST: "0.0.0.0", LOG_LEVEL: "debug", X: "1" },
  );
});

Deno.test("[config] a Market configuration needs the app's symbolic code", () => {
  const missing =
    assertThrows(() => parseConfig({ BITRIX_CLIENT_ID: "app.1", BITRIX_CLIENT_SECRET: "s" }))
      .message;
  assertEquals(missing.split("\n").length, 1);
  assertStringIncludes(missing, "BITRIX_APP_CODE: required for a Market app");
  assertStringIncludes(missing, "(not set)");
  assertStringIncludes(
    assertThrows(() => parseConfig({ BITRIX_CLIENT_ID: "app.1", BITRIX_APP_CODE: "app.1" }))
      .message,
    "BITRIX_APP_CODE: the Market app's symbolic code, not its client id",
  );
  const market = parseConfig({
    BITRIX_CLIENT_ID: "app.1",
    BITRIX_CLIENT_SECRET: "s",
    BITRIX_APP_CODE: "vendor.sipphone",
  });
  assertEquals(market.BITRIX_APP_CODE, "vendor.sipphone");
});

Deno.test("[config] TURN_URLS and TURN_SHARED_SECRET go together; URLs are turn: or turns:", () => {
  const config = parseConfig({
    TURN_URLS: "turn:turn.example.com:3478, turns:turn.example.com:5349",
    TURN_SHARED_SECRET: "0123456789abcdef",
  });
  assertEquals(config.TURN_URLS, ["turn:turn.example.com:3478", "turns:turn.example.com:5349"]);
  assertEquals(config.TURN_CREDENTIAL_TTL_SECONDS, 86400);
  assertThrows(() => parseConfig({ TURN_URLS: "turn:t.example.com" }), "TURN_SHARED_SECRET");
  assertThrows(
    () => parseConfig({ TURN_URLS: "stun:t.example.com", TURN_SHARED_SECRET: "0123456789abcdef" }),
    "TURN_URLS",
  );
});
