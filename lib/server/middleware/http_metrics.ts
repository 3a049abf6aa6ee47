/**
 * Counts every request and its latency by route pattern (`unmatched` for URLs no route
 * serves, so scanners cannot grow the series). Every label comes from a fixed set: the route
 * table's patterns, the known methods (`other` for the rest) and the HTTP status codes.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { Metrics } from "../metrics.ts";
import { methodLabel } from "./known_methods.ts";

/** Counts requests by route, method and status into `metrics`, and observes their latency. */
export function httpMetrics(
  metrics: Pick<Metrics, "httpRequests" | "httpDuration">,
): MiddlewareHandler {
  return async function httpMetrics(c, next) {
    const started = performance.now();
    await next();
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    const status = c.res.status >= 100 && c.res.status <= 599 ? String(c.res.status) : "other";
    metrics.httpRequests.inc({ route, method: methodLabel(c.req.method), status });
    metrics.httpDuration.observe({ route }, (performance.now() - started) / 1000);
  };
}
