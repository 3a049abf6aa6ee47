import { Hono } from "hono";
import { assert, assertEquals } from "../../../tests/support/assert.ts";
import type { AppEnv, AppServices } from "../state.ts";
import { log } from "../log.ts";
import { requestContext } from "./request_context.ts";

Deno.test("[request_context] each request gets an id, the client, a logger and the services", async () => {
  log.setLevel("warn"); // the request lines are not this test's subject
  const services = {} as AppServices;
  const app = new Hono<AppEnv>();
  app.use(requestContext({ services, proxy: { trustProxy: false } }));
  app.get("/", (c) =>
    c.json({
      id: c.var.requestId,
      ip: c.var.client.ip,
      sameServices: c.var.services === services,
      logs: typeof c.var.log.info === "function",
    }));
  const [first, second] = await Promise.all([app.request("/"), app.request("/")]);
  const body = await first.json();
  assertEquals(first.headers.get("x-request-id"), body.id);
  assert(body.id !== second.headers.get("x-request-id"), "ids differ per request");
  assertEquals([body.sameServices, body.logs], [true, true]);
});
