/**
 * Counts every request and its latency by route pattern (`unmatched` for URLs no route
 * serves, so scanners cannot grow the series).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Metrics } from "../metrics.ts";

/** Counts requests by route, method and status into `metrics`, and observes their latency. */
export function httpMetrics(
  metrics: Pick<Metrics, "httpRequests" | "httpDuration">,
): MiddlewareHandler {
  return async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
    metrics.httpDuration.observe({ route }, (performance.now() - started) / 1000);
  };
}
