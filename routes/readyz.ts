import { define } from "../lib/server/state.ts";
import { checkReadiness } from "../lib/server/readiness.ts";
import { isLoopback } from "../lib/server/proxy.ts";

/**
 * Readiness: the database and the secrets provider answer (503 with reasons if not) — asked now
 * for a client on this host (the container's health check), else at most 2 s ago.
 */
export const handler = define.handlers({
  GET: async (c) => {
    const { services } = c.var;
    const report = isLoopback(c.var.client.ip)
      ? await checkReadiness(services)
      : await services.readiness.report();
    c.header("Cache-Control", "no-store");
    return c.json(report, report.ready ? 200 : 503);
  },
});
