import { assertEquals, assertMatch, assertStringIncludes } from "./support/assert.ts";
import { openTestApp } from "./support/app.ts";

Deno.test("[metrics] Prometheus text with requests by route and the sync backlog", async () => {
  await using app = await openTestApp();
  await app.request("/healthz").then((r) => r.body?.cancel());
  await app.request("/nope").then((r) => r.body?.cancel());
  const res = await app.request("/metrics");
  assertEquals(res.status, 200);
  assertMatch(res.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  assertStringIncludes(text, 'http_requests_total{route="/healthz",method="GET",status="200"} 1');
  assertStringIncludes(text, 'http_requests_total{route="unmatched",method="GET",status="404"} 1');
  assertStringIncludes(text, 'http_request_duration_seconds_bucket{route="/healthz",le="+Inf"} 1');
  assertStringIncludes(text, "bitrix_sync_backlog 0");
  assertStringIncludes(text, "# TYPE vault_renewals_total counter");
  assertMatch(text, /^process_resident_memory_bytes [1-9]\d+$/m);
  assertMatch(text, /^deno_heap_used_bytes [1-9]\d+$/m);
});

Deno.test("[metrics] METRICS_TOKEN protects the endpoint", async () => {
  await using app = await openTestApp({ METRICS_TOKEN: "0123456789abcdef-token" });
  assertEquals((await app.request("/metrics").then((r) => (r.body?.cancel(), r))).status, 401);
  const ok = await app.request("/metrics", {
    headers: { authorization: "Bearer 0123456789abcdef-token" },
  });
  assertEquals(ok.status, 200);
  await ok.body?.cancel();
});
