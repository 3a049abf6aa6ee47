import { Hono } from "hono";
import { assertEquals, assertStringIncludes } from "../../../tests/support/assert.ts";
import { MAX_SERIES_PER_METRIC, Metrics } from "../metrics.ts";
import { httpMetrics } from "./http_metrics.ts";

Deno.test("[http_metrics] requests count by route pattern, unknown URLs as unmatched", async () => {
  const metrics = new Metrics();
  const app = new Hono();
  app.use(httpMetrics(metrics));
  app.get("/users/:id", (c) => c.text("ok"));
  await app.request("/users/1");
  await app.request("/users/2");
  await app.request("/nowhere");
  const text = await metrics.render({ calls: { countPending: () => Promise.resolve(0) } });
  assertStringIncludes(
    text,
    'http_requests_total{route="/users/:id",method="GET",status="200"} 2',
  );
  assertStringIncludes(text, 'http_requests_total{route="unmatched",method="GET",status="404"} 1');
  assertStringIncludes(text, "bitrix_sync_backlog 0");
});

Deno.test("[http_metrics] a metric keeps at most MAX_SERIES_PER_METRIC series, the rest as overflow", async () => {
  const metrics = new Metrics();
  for (let i = 0; i < MAX_SERIES_PER_METRIC * 2; i++) {
    metrics.callsEnded.inc({ direction: "out", status: String(i) });
  }
  const text = await metrics.render({ calls: { countPending: () => Promise.resolve(0) } });
  const series = text.split("\n").filter((line) => line.startsWith("calls_ended_total{"));
  assertEquals(series.length, MAX_SERIES_PER_METRIC);
  assertStringIncludes(
    text,
    `calls_ended_total{direction="overflow",status="overflow"} ${MAX_SERIES_PER_METRIC + 1}`,
  );
});
