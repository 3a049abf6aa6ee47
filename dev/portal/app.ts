/**
 * The portal's web application. REST lives under `/rest/`; the page side (portal pages with
 * app frames, the frame postMessage protocol, the call card) will be mounted from
 * `dev/portal/pages/` next to it.
 *
 * @module
 */
import { Hono } from "hono";
import { type HeldRequests, restApp } from "./rest/server.ts";
import type { PortalState } from "./state.ts";

/** Builds the portal application. */
export function portalApp(state: PortalState, held: HeldRequests): Hono {
  const app = new Hono();
  app.route("/rest", restApp(state, held));
  app.get("/", (c) => c.text(`Bitrix24 portal emulator ${state.endpoints.domain}\n`));
  return app;
}
