import { Hono } from "hono";
import { assertEquals } from "../../../tests/support/assert.ts";
import { knownMethods, methodLabel } from "./known_methods.ts";

Deno.test("[known_methods] an unknown method gets 405 JSON with Allow, before any other middleware", async () => {
  const app = new Hono();
  const seen: string[] = [];
  app.use(knownMethods());
  app.use(async (c, next) => {
    seen.push(c.req.method);
    await next();
  });
  app.all("/", (c) => c.text("ok"));
  const refused = await app.request("/", { method: "BREW" });
  assertEquals(refused.status, 405);
  assertEquals(refused.headers.get("allow"), "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
  assertEquals((await refused.json()).error.code, "method_not_allowed");
  assertEquals((await app.request("/", { method: "PATCH" })).status, 200);
  assertEquals(seen, ["PATCH"]);
});

Deno.test("[known_methods] labels: known methods as they are, the rest as other", () => {
  assertEquals([methodLabel("GET"), methodLabel("get"), methodLabel("X".repeat(5000))], [
    "GET",
    "other",
    "other",
  ]);
});
