/**
 * The request context: gives each request an id, the client's address (see proxy.ts), a child
 * logger and the services; answers with `X-Request-Id` and logs one line per request (probes
 * of `/healthz` excepted).
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv, AppServices } from "../state.ts";
import { log } from "../log.ts";
import { peerAddress, type ProxyOptions, resolveClient } from "../proxy.ts";
import { methodLabel } from "./known_methods.ts";

/** Longest path written to a request's log line (the rest is cut). */
const MAX_LOGGED_PATH = 200;

/** Options of {@link requestContext}. */
export interface RequestContextOptions {
  services: AppServices;
  /** Whose forwarded headers to believe. */
  proxy: ProxyOptions;
}

/** Sets `c.var.services`, `requestId`, `client` and `log`, and logs the request's outcome. */
export function requestContext(
  { services, proxy }: RequestContextOptions,
): MiddlewareHandler<AppEnv> {
  return async function requestContext(c, next) {
    const requestId = crypto.randomUUID();
    const started = performance.now();
    const client = resolveClient(c.req.raw, peerAddress(c.env), proxy);
    const requestLog = log.child({ requestId, ip: client.ip });
    c.set("services", services);
    c.set("requestId", requestId);
    c.set("client", client);
    c.set("log", requestLog);
    await next();
    c.res.headers.set("X-Request-Id", requestId);
    if (c.req.path !== "/healthz") {
      requestLog.info("request", {
        method: methodLabel(c.req.method),
        path: c.req.path.slice(0, MAX_LOGGED_PATH),
        status: c.res.status,
        ms: Math.round(performance.now() - started),
      });
    }
  };
}
