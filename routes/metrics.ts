import { define } from "../lib/server/state.ts";
import { UnauthorizedError } from "../lib/server/errors.ts";
import { timingSafeEqual } from "../lib/server/db/portals.ts";

/** Prometheus metrics; with `METRICS_TOKEN` set, scrapers must send it as a bearer token. */
export const handler = define.handlers({
  GET: async (c) => {
    const token = c.var.services.config.METRICS_TOKEN;
    if (token && !timingSafeEqual(c.req.header("authorization") ?? "", `Bearer ${token}`)) {
      throw new UnauthorizedError("metrics need the bearer token");
    }
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    const { metrics, calls } = c.var.services;
    return c.body(await metrics.render({ calls }));
  },
});
