/**
 * The HTTP side of `/rest/*`: CORS for app frames, injected faults, the leaky bucket, then
 * dispatch; answers `{result, [next], [total], time}` or `{error, error_description}`.
 *
 * @module
 */
import { Hono } from "hono";
import { cors } from "hono/cors";
import type { Context } from "hono";
import { type FaultKind, normalizeMethod } from "../faults.ts";
import type { PortalState } from "../state.ts";
import type { Outcome } from "./context.ts";
import { invoke } from "./dispatch.ts";
import { expiredToken, internalError, queryLimitExceeded, type RestError } from "./errors.ts";
import { readRestRequest } from "./request.ts";
import { timeBlock } from "./time.ts";

/** Requests held open by `timeout` faults; `close()` releases them. */
export type HeldRequests = Set<() => void>;

const NGINX_503 = "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n" +
  "<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n" +
  "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/** CRestServer sends this content type for JSON answers. */
const JSON_TYPE = { "content-type": "application/json; charset=utf-8" };

function errorResponse(c: Context, err: RestError): Response {
  return c.body(JSON.stringify(err.body()), err.status as 400, JSON_TYPE);
}

function answer(c: Context, outcome: Outcome): Response {
  if (!outcome.ok) return errorResponse(c, outcome.error);
  const body = {
    result: outcome.result,
    ...(outcome.next === undefined ? {} : { next: outcome.next }),
    ...(outcome.total === undefined ? {} : { total: outcome.total }),
    time: timeBlock(outcome.startedAt, outcome.finishedAt),
  };
  return c.body(JSON.stringify(body), 200, JSON_TYPE);
}

/** One REST request must finish within 60 s on cloud portals (reference §2.4). */
const HOLD_LIMIT_MS = 60_000;

/** Answers 504 after the portal's 60 s limit, or at once when the portal closes. */
function hold(held: HeldRequests): Promise<Response> {
  return new Promise((resolve) => {
    const release = () => {
      clearTimeout(timer);
      held.delete(release);
      resolve(new Response("Gateway Time-out", { status: 504 }));
    };
    const timer = setTimeout(release, HOLD_LIMIT_MS);
    held.add(release);
  });
}

function faultResponse(
  c: Context,
  kind: FaultKind,
  held: HeldRequests,
): Response | Promise<Response> {
  switch (kind) {
    case "503":
      return c.html(NGINX_503, 503);
    case "query_limit":
      return errorResponse(c, queryLimitExceeded());
    case "expired_token":
      return errorResponse(c, expiredToken());
    case "500":
      return errorResponse(c, internalError());
    case "timeout":
      return hold(held);
  }
}

const FAULT_STATUS: Record<FaultKind, number> = {
  "503": 503,
  query_limit: 503,
  expired_token: 401,
  "500": 500,
  timeout: 504,
};

/** Builds the `/rest` sub-application. */
export function restApp(state: PortalState, held: HeldRequests): Hono {
  const app = new Hono();
  app.use(
    "*",
    cors({
      origin: "*",
      allowMethods: ["GET", "POST", "OPTIONS"],
      allowHeaders: ["content-type", "authorization"],
    }),
  );
  app.all("*", async (c) => {
    const method = normalizeMethod(new URL(c.req.url).pathname.replace(/^\/rest\//, ""));
    const { params, token } = await readRestRequest(c.req.raw);
    const now = state.clock.now();
    const fault = state.faults.take(method, now);
    if (fault) {
      state.records.addCall({
        method,
        params,
        userId: null,
        at: now,
        status: FAULT_STATUS[fault],
        error: `fault:${fault}`,
      });
      return faultResponse(c, fault, held);
    }
    if (state.bucket && !state.bucket.take()) {
      const err = queryLimitExceeded();
      state.records.addCall({
        method,
        params,
        userId: null,
        at: now,
        status: 503,
        error: err.code,
      });
      return errorResponse(c, err);
    }
    return answer(c, await invoke(state, method, params, token));
  });
  return app;
}
