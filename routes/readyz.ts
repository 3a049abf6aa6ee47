import { define } from "../lib/server/state.ts";
import { checkReadiness } from "../lib/server/readiness.ts";

/** Readiness: the database and the secrets provider answer now (503 with reasons if not). */
export const handler = define.handlers({
  GET: async (c) => {
    const report = await checkReadiness(c.var.services);
    c.header("Cache-Control", "no-store");
    return c.json(report, report.ready ? 200 : 503);
  },
});
