/**
 * Builds the Hono app: request ids and logs, security headers, body limits, static files, the
 * route table (one module per URL under routes/), and the one place where errors become HTTP.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { serveStatic } from "hono/deno";
import { renderToString } from "preact-render-to-string";
import { h } from "preact";
import type { AppEnv, Method, RouteHandlers } from "./lib/server/http.ts";
import type { Services } from "./lib/server/services.ts";
import { PayloadTooLargeError, toErrorBody, UnavailableError } from "./lib/server/errors.ts";
import { isDatabaseUnavailable } from "./lib/server/db/client.ts";
import { log } from "./lib/server/log.ts";
import { peerAddress, resolveClient } from "./lib/server/proxy.ts";
import { isApiPath, securityHeaders } from "./lib/server/security_headers.ts";
import { ErrorPage } from "./components/ErrorPage.tsx";
import * as index from "./routes/index.tsx";
import * as healthz from "./routes/healthz.ts";
import * as readyz from "./routes/readyz.ts";
import * as install from "./routes/install.tsx";
import * as bitrixInstall from "./routes/api/bitrix/install.ts";
import * as bitrixCallback from "./routes/api/bitrix/callback.ts";
import * as placementError from "./routes/api/bitrix/placement-error.ts";
import * as widget from "./routes/api/bitrix/widget.ts";
import * as calls from "./routes/api/calls.ts";
import * as background from "./routes/placement/background.tsx";
import * as metrics from "./routes/metrics.ts";
import { httpDuration, httpRequests } from "./lib/server/metrics.ts";

/** The route table: URL → route module. */
const ROUTES: [string, { handler: RouteHandlers }][] = [
  ["/", index],
  ["/healthz", healthz],
  ["/readyz", readyz],
  ["/metrics", metrics],
  ["/install", install],
  ["/placement/background", background],
  ["/api/bitrix/install", bitrixInstall],
  ["/api/bitrix/callback", bitrixCallback],
  ["/api/bitrix/placement-error", placementError],
  ["/api/bitrix/widget", widget],
  ["/api/calls", calls],
];

/** Largest request body accepted (Bitrix24 forms and API bodies are small). */
const MAX_BODY_BYTES = 256 * 1024;

/** Builds the app around opened services. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const root = new URL(".", import.meta.url).pathname;

  const headers = securityHeaders({
    frameAncestors: services.config.FRAME_ANCESTORS,
    allowInsecurePortals: services.config.BITRIX_ALLOW_INSECURE_PORTALS,
  });
  const proxyOptions = {
    trustProxy: services.config.TRUST_PROXY,
    trustedProxies: services.config.TRUSTED_PROXIES,
  };

  app.use(async function requestContext(c, next) {
    const requestId = crypto.randomUUID();
    const started = performance.now();
    const path = c.req.path;
    const client = resolveClient(c.req.raw, peerAddress(c.env), proxyOptions);
    const requestLog = log.child({ requestId, ip: client.ip });
    c.set("services", services);
    c.set("requestId", requestId);
    c.set("client", client);
    c.set("log", requestLog);
    await next();
    // Set on the response's own headers: `c.header()` after the handler copies the response
    // each time, and headers prepared before it are copied into every response.
    const responseHeaders = c.res.headers;
    responseHeaders.set("X-Request-Id", requestId);
    for (const [name, value] of isApiPath(path) ? headers.api : headers.document) {
      responseHeaders.set(name, value);
    }
    const route = c.req.routePath === "/*" ? "unmatched" : c.req.routePath;
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    httpRequests.inc({ route, method: c.req.method, status: String(status) });
    httpDuration.observe({ route }, seconds);
    if (path !== "/healthz") {
      requestLog.info("request", {
        method: c.req.method,
        path,
        status,
        ms: Math.round(seconds * 1000),
      });
    }
  });
  app.use(bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: () => {
      throw new PayloadTooLargeError();
    },
  }));

  app.use(
    "/static/*",
    serveStatic({
      root,
      onFound: (path, c) => {
        c.header(
          "Cache-Control",
          /-[A-Z0-9]{8}\.js$/.test(path) ? "public, max-age=31536000, immutable" : "no-cache",
        );
      },
    }),
  );
  // Bitrix24 may POST to any handler URL; serve static files for POST as well.
  app.post(
    "/static/*",
    (c) => app.fetch(new Request(c.req.url, { method: "GET", headers: c.req.raw.headers })),
  );
  app.get("/favicon.ico", (c) => c.body(null, 204));

  for (const [path, { handler }] of ROUTES) {
    for (const [method, fn] of Object.entries(handler) as [Method, RouteHandlers[Method]][]) {
      app.on(method, path, fn!);
    }
  }

  app.notFound((c) => c.json({ error: { code: "not_found", message: "Not found" } }, 404));
  app.onError((err, c) => {
    const { status, body } = toErrorBody(
      isDatabaseUnavailable(err) ? new UnavailableError("the database is unavailable") : err,
    );
    if (status >= 500) c.var.log?.error("request failed", { path: c.req.path, error: err });
    const wantsHtml = !c.req.path.startsWith("/api/") &&
      (c.req.header("accept") ?? "").includes("text/html");
    if (wantsHtml) {
      return c.html(
        "<!DOCTYPE html>" + renderToString(h(ErrorPage, { message: body.error.message })),
        status,
      );
    }
    return c.json(body, status);
  });
  return app;
}
