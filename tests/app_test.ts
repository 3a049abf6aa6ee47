import { assert, assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { openTestApp } from "./support/app.ts";
import { log } from "../lib/server/log.ts";
import { withCapturedLogs } from "./support/logs.ts";

Deno.test("[app] health, readiness and a placement page by POST and GET", async () => {
  await using app = await openTestApp();
  const health = await app.request("/healthz");
  assertEquals(health.status, 200);
  assertEquals(await health.json(), { status: "ok" });

  const ready = await app.request("/readyz");
  assertEquals(ready.status, 200);
  assertEquals((await ready.json()).ready, true);

  const post = await app.request("/?DOMAIN=acme.bitrix24.ru&LANG=ru", {
    method: "POST",
    body: new URLSearchParams({ AUTH_ID: "a1", member_id: "m1", PLACEMENT: "DEFAULT" }),
  });
  assertMatch(post.headers.get("content-type")!, /text\/html/);
  assertEquals(post.headers.get("x-frame-options"), null);
  assertStringIncludes(post.headers.get("content-security-policy")!, "frame-ancestors");
  const html = await post.text();
  assertStringIncludes(html, 'lang="ru"');
  // An unknown portal's token is not trusted: a notice instead of the phone.
  assertStringIncludes(html, "Приложение ещё не установлено");
  assertEquals(post.status, 401);

  const get = await app.request("/?LANG=en");
  assertEquals(get.status, 200);
  assertStringIncludes(await get.text(), "Open this page from Bitrix24");
});

Deno.test("[app] bad input gets a 4xx JSON error without a stack trace", async () => {
  await using app = await openTestApp();
  const cases: [RequestInit & { path?: string }, number][] = [
    [{ path: "/nope" }, 404],
    [
      { method: "POST", body: "x".repeat(300 * 1024), headers: { "content-type": "text/plain" } },
      413,
    ],
    [{
      method: "POST",
      body: "__proto__[x]=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }, 400],
    [{
      method: "POST",
      body: "a[b=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    }, 400],
  ];
  for (const [{ path = "/", ...init }, status] of cases) {
    const res = await app.request(path, init);
    assertEquals(res.status, status, `${init.method ?? "GET"} ${path}`);
    const text = await res.text();
    assert(!/at .*\.ts:\d+/.test(text), "no stack trace");
    const body = JSON.parse(text);
    assert(typeof body.error.code === "string" && typeof body.error.message === "string");
  }
});

Deno.test("[app] a token and a SIP password passing through a request never reach the logs", async () => {
  const lines = await withCapturedLogs(async (lines) => {
    await using app = await openTestApp({ LOG_LEVEL: "debug" });
    await app.request("/?AUTH_ID=tok-SECRET-1234&LANG=en&password=sipPASS-5678", {
      method: "POST",
      body: new URLSearchParams({ AUTH_ID: "tok-SECRET-1234", REFRESH_ID: "ref-SECRET-9" }),
    }).then((r) => r.body?.cancel());
    log.info("probe", { password: "sipPASS-5678", nested: { access_token: "tok-SECRET-1234" } });
    log.info("url", { url: "https://x/rest/user.current?auth=tok-SECRET-1234" });
    log.error("query", { error: new Error("Failed query: select 1\nparams: sipPASS-5678") });
    return lines;
  });
  const output = lines.join("\n");
  assert(lines.length >= 3, "request and probe lines were written");
  for (const secret of ["tok-SECRET-1234", "sipPASS-5678", "ref-SECRET-9"]) {
    assert(!output.includes(secret), `${secret} leaked into logs`);
  }
  assertStringIncludes(output, "[redacted]");
});

Deno.test("[app] documents get the framing policy, API answers the short one", async () => {
  await using app = await openTestApp();
  const answers = {
    page: await app.request("/?LANG=en"),
    style: await app.request("/static/style.css"),
    styleByPost: await app.request("/static/style.css", { method: "POST" }),
    api: await app.request("/api/calls", { method: "POST", body: "{}" }),
    probe: await app.request("/healthz"),
    missing: await app.request("/nope"),
  };
  const requestIds = new Set<string>();
  for (const [name, res] of Object.entries(answers)) {
    await res.body?.cancel();
    const policy = res.headers.get("content-security-policy") ?? "";
    // Decided by path before routing: an unknown path counts as a document.
    const isDocument = name === "page" || name.startsWith("style") || name === "missing";
    if (isDocument) {
      assertStringIncludes(policy, "frame-ancestors 'self' https://*.bitrix24.ru", name);
      assertStringIncludes(policy, "connect-src 'self' wss: https:", name);
    } else {
      assertEquals(policy, "default-src 'none'; frame-ancestors 'none'", name);
    }
    assertEquals(res.headers.get("x-content-type-options"), "nosniff", name);
    assertEquals(res.headers.get("referrer-policy"), "strict-origin-when-cross-origin", name);
    assertMatch(res.headers.get("strict-transport-security") ?? "", /^max-age=\d+/, name);
    assertEquals(res.headers.get("x-frame-options"), null, name);
    requestIds.add(res.headers.get("x-request-id") ?? "");
  }
  assertEquals(requestIds.size, Object.keys(answers).length, "one request id per request");
});

Deno.test("[app] a page request that fails shows the error's text in both languages", async () => {
  await using app = await openTestApp();
  const res = await app.request("/", {
    method: "POST",
    body: "x".repeat(300 * 1024),
    headers: { "content-type": "text/plain", accept: "text/html" },
  });
  assertEquals(res.status, 413);
  assertMatch(res.headers.get("content-type")!, /text\/html/);
  const html = await res.text();
  assertStringIncludes(html, "Слишком много данных в одном запросе.");
  assertStringIncludes(html, "Too much data in one request.");
  assert(!html.includes("Request body too large"), "the server's own message stays out");
});
