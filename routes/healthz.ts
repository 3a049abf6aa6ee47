import { define } from "../lib/server/state.ts";

/** Liveness: the process is up and serving. */
export const handler = define.handlers({
  GET: (c) => c.json({ status: "ok" }),
});
