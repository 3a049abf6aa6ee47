/**
 * The portal's web application. REST lives under `/rest/`; the page side (portal pages with
 * app frames, the frame postMessage protocol, the call card) is mounted from `pages/`.
 *
 * @module
 */
import { Hono } from "hono";
import { pagesApp } from "./pages/mod.ts";
import { type HeldRequests, restApp } from "./rest/server.ts";
import type { PortalState } from "./state.ts";

/** Builds the portal application. */
export function portalApp(state: PortalState, held: HeldRequests): Hono {
  const app = new Hono();
  app.route("/rest", restApp(state, held));
  app.route("/", pagesApp(state));
  return app;
}
