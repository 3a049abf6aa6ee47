import { createHmac } from "node:crypto";
import { assertEquals } from "../../tests/support/assert.ts";
import { turnRestServer } from "./turn_credentials.ts";

const OPTIONS = {
  urls: ["turn:turn.example.com:3478"],
  secret: "s3cret-s3cret-s3cret",
  ttlSeconds: 3600,
};

Deno.test("[turn_credentials] username expiry:user, credential base64(HMAC-SHA1(secret, username))", async () => {
  const server = await turnRestServer(OPTIONS, "m1.7", 1_000_000_000_000);
  const [expiry, user] = server.username!.split(":");
  assertEquals(user, "m1.7");
  const left = Number(expiry) - 1_000_000_000;
  assertEquals(left >= 3600 && left <= 5400, true, `lives ${left} s`);
  const expected = createHmac("sha1", OPTIONS.secret).update(server.username!).digest("base64");
  assertEquals([server.urls, server.credential], [OPTIONS.urls, expected]);
});

Deno.test("[turn_credentials] the same credentials within half a lifetime, new ones after", async () => {
  const start = 1_800_000_000_000; // a multiple of 30 minutes
  const a = await turnRestServer(OPTIONS, "m1.7", start + 1000);
  const b = await turnRestServer(OPTIONS, "m1.7", start + 1_700_000);
  const c = await turnRestServer(OPTIONS, "m1.7", start + 1_801_000);
  assertEquals(a, b);
  assertEquals(a.username === c.username, false);
  assertEquals((await turnRestServer(OPTIONS, "m1.8", start)).username === a.username, false);
});
