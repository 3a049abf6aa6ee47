import { define } from "../lib/server/state.ts";
import { ForbiddenError, UnauthorizedError } from "../lib/server/errors.ts";
import { timingSafeEqual } from "../lib/server/db/portals.ts";
import { isLoopback } from "../lib/server/proxy.ts";

/**
 * Prometheus metrics; with `METRICS_TOKEN` set, scrapers must send it as a bearer token, and
 * without it only clients on this host get them (Deno Deploy has no proxy that hides the URL).
 */
export const handler = define.handlers({
  GET: async (c) => {
    const token = c.var.services.config.METRICS_TOKEN;
    if (token && !timingSafeEqual(c.req.header("authorization") ?? "", `Bearer ${token}`)) {
      throw new UnauthorizedError("metrics need the bearer token");
    }
    if (!token && !isLoopback(c.var.client.ip)) {
      throw new ForbiddenError("metrics are served to this host only; set METRICS_TOKEN");
    }
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    const { metrics, calls, push } = c.var.services;
    return c.body(await metrics.render({ calls, push }));
  },
});
