/**
 * Builds the Hono app: the middleware (request context, metrics, security headers, body
 * limit), static files, the route table (one module per URL under routes/, each a Fresh-shaped
 * `handler` and, for pages, a default-exported page), and the one place where errors become
 * HTTP.
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { serveStatic } from "hono/deno";
import { renderToString } from "preact-render-to-string";
import { type FunctionComponent, h, type VNode } from "preact";
import type { AppEnv, Method, PageProps, RouteHandler } from "./lib/server/state.ts";
import type { Services } from "./lib/server/services.ts";
import { PayloadTooLargeError, toErrorBody } from "./lib/server/errors.ts";
import { toAppError } from "./lib/server/foreign_errors.ts";
import { requestContext } from "./lib/server/middleware/request_context.ts";
import { httpMetrics } from "./lib/server/middleware/http_metrics.ts";
import { knownMethods } from "./lib/server/middleware/known_methods.ts";
import { securityHeaders } from "./lib/server/middleware/security_headers.ts";
import { render } from "./components/render.tsx";
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
import * as pushTicket from "./routes/api/push/ticket.ts";
import * as pushStream from "./routes/api/push/stream.ts";
import * as background from "./routes/placement/background.tsx";
import * as metrics from "./routes/metrics.ts";

/** A route module: its handlers by method, and the page they hand data to (if any). */
interface RouteModule {
  handler: Partial<Record<Method, RouteHandler<unknown>>>;
  default?: (props: PageProps<never>) => unknown;
}

/** The route table: URL → route module. */
const ROUTES: [string, RouteModule][] = [
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
  ["/api/push/ticket", pushTicket],
  ["/api/push/stream", pushStream],
];

/** Largest request body accepted (Bitrix24 forms and API bodies are small). */
const MAX_BODY_BYTES = 256 * 1024;

/** Mounts a route module: a handler's page data is rendered with the module's page. */
function mount(app: Hono<AppEnv>, path: string, route: RouteModule): void {
  const Page = route.default as FunctionComponent<PageProps<unknown>> | undefined;
  for (const [method, handle] of Object.entries(route.handler) as [Method, RouteHandler][]) {
    app.on(method, path, async (c) => {
      const answer = await handle(c);
      if (answer instanceof Response) return answer;
      if (!Page) throw new Error(`${path} answered page data but exports no page`);
      return render(c, h(Page, { data: answer.data }) as VNode, answer.status);
    });
  }
}

/** Builds the app around opened services. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const root = new URL(".", import.meta.url).pathname;
  const { config } = services;

  app.use(knownMethods());
  app.use(requestContext({
    services,
    proxy: { trustProxy: config.TRUST_PROXY, trustedProxies: config.TRUSTED_PROXIES },
  }));
  app.use(httpMetrics(services.metrics));
  app.use(securityHeaders({
    frameAncestors: config.FRAME_ANCESTORS,
    allowInsecurePortals: config.BITRIX_ALLOW_INSECURE_PORTALS,
  }));
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

  for (const [path, route] of ROUTES) mount(app, path, route);

  app.notFound((c) => c.json({ error: { code: "not_found", message: "Not found" } }, 404));
  app.onError((err, c) => {
    const { status, body } = toErrorBody(toAppError(err));
    if (status >= 500) c.var.log?.error("request failed", { path: c.req.path, error: err });
    const wantsHtml = !c.req.path.startsWith("/api/") &&
      (c.req.header("accept") ?? "").includes("text/html");
    if (wantsHtml) {
      return c.html(
        "<!DOCTYPE html>" + renderToString(h(ErrorPage, { code: body.error.code })),
        status,
      );
    }
    return c.json(body, status);
  });
  return app;
}
