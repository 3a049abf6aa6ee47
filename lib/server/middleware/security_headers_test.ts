import { Hono } from "hono";
import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { securityHeaders } from "./security_headers.ts";

Deno.test("[security_headers] documents get the framing policy, API answers the strict one", async () => {
  const app = new Hono();
  app.use(securityHeaders({
    frameAncestors: ["https://*.bitrix24.ru"],
    allowInsecurePortals: false,
  }));
  app.get("/", (c) => c.html("<p>page</p>"));
  app.get("/api/x", (c) => c.json({ ok: true }));
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  const page = await app.request("/");
  assertStringIncludes(
    page.headers.get("content-security-policy")!,
    "frame-ancestors 'self' https://*.bitrix24.ru",
  );
  assertEquals(page.headers.get("x-content-type-options"), "nosniff");
  for (const path of ["/api/x", "/healthz"]) {
    const api = await app.request(path);
    assertEquals(
      api.headers.get("content-security-policy"),
      "default-src 'none'; frame-ancestors 'none'",
    );
  }
});
