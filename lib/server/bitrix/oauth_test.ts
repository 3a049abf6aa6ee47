import { assertEquals } from "../../../tests/support/assert.ts";
import { allowedServerEndpoint, tokenUrlFor } from "./oauth.ts";

const hosts = ["oauth.bitrix.info", "oauth.bitrix24.tech"];

Deno.test("[oauth] only an https, allow-listed server_endpoint is kept", () => {
  assertEquals(
    allowedServerEndpoint("https://oauth.bitrix24.tech/rest/", hosts),
    "https://oauth.bitrix24.tech/rest/",
  );
  assertEquals(
    allowedServerEndpoint("https://oauth.bitrix.info/rest", hosts),
    "https://oauth.bitrix.info/rest/",
  );
  assertEquals(allowedServerEndpoint("http://oauth.bitrix24.tech/rest/", hosts), undefined);
  assertEquals(allowedServerEndpoint("https://oauth.evil.example/rest/", hosts), undefined);
  assertEquals(allowedServerEndpoint("not a url", hosts), undefined);
  assertEquals(allowedServerEndpoint(undefined, hosts), undefined);
});

Deno.test("[oauth] refreshes go to the portal's OAuth server unless overridden", () => {
  assertEquals(
    tokenUrlFor("https://oauth.bitrix24.tech/rest/", { allowedHosts: hosts }),
    "https://oauth.bitrix24.tech/oauth/token/",
  );
  assertEquals(
    tokenUrlFor(null, { allowedHosts: hosts }),
    "https://oauth.bitrix.info/oauth/token/",
  );
  assertEquals(
    tokenUrlFor("https://oauth.bitrix24.tech/rest/", {
      allowedHosts: hosts,
      override: "http://127.0.0.1:9001/oauth/token/",
    }),
    "http://127.0.0.1:9001/oauth/token/",
  );
  assertEquals(tokenUrlFor("https://evil.example/rest/", { allowedHosts: hosts }), undefined);
});
