/**
 * The app wired to the portal emulator for Bitrix24 tests: the app on a known loopback port (so
 * handler URLs given to the portal reach it), refreshes sent to the emulator's OAuth server, and
 * short retry timings. Helpers call the app's APIs as a portal user's frame would.
 *
 * @module
 */
import { type Portal, startPortal } from "../../dev/portal/mod.ts";
import type { PortalOptions } from "../../dev/portal/mod.ts";
import { startTestApp, type TestApp, type TestServiceOptions } from "./app.ts";
import { freePort } from "./ports.ts";
import { callView } from "../../lib/server/call_journal.ts";
import type { CallView } from "../../lib/shared/api/calls.ts";

/** One SDK attempt per call, immediate retries of failed rows, short leases. */
export const TEST_BITRIX_TIMINGS = {
  maxRetries: 1,
  retryDelayMs: 10,
  syncBackoffMs: () => 0,
  syncLeaseMs: 1000,
  uninstallRetryMs: () => 100,
};

/** Calls to the app as a portal user's frame makes them (a Bearer token and the member id). */
export interface FrameClient {
  /** POSTs the widget API as `userId`'s frame would (`fresh`: with a newly issued token). */
  widget(userId: number, body: unknown, options?: { fresh?: boolean }): Promise<Response>;
  /** Calls `/api/calls` as `userId`'s frame would. */
  calls(
    userId: number,
    init?: { method?: string; body?: unknown; query?: string },
  ): Promise<Response>;
  /** Asks for a push stream ticket as `userId`'s phone host would (`POST /api/push/ticket`). */
  pushTicket(userId: number, appUrl?: string): Promise<Response>;
  /** Installs the app as the portal admin and finishes the installation (ONAPPINSTALL). */
  install(): Promise<Response>;
}

/** Frame calls to the app at `appUrl` as users of `portal`; one token per user, reused. */
export function frameClient(portal: Portal, appUrl: string): FrameClient {
  const tokens = new Map<number, string>();
  const frameHeaders = (userId: number, fresh = false) => {
    if (fresh || !tokens.has(userId)) {
      tokens.set(userId, portal.issueTokens({ userId }).accessToken);
    }
    return {
      authorization: `Bearer ${tokens.get(userId)}`,
      "x-member-id": portal.memberId,
      "content-type": "application/json",
    };
  };
  return {
    widget: (userId, body, { fresh = false } = {}) =>
      fetch(`${appUrl}/api/bitrix/widget`, {
        method: "POST",
        headers: frameHeaders(userId, fresh),
        body: JSON.stringify(body),
      }),
    calls: (userId, init = {}) =>
      fetch(`${appUrl}/api/calls${init.query ? `?${init.query}` : ""}`, {
        method: init.method ?? (init.body ? "POST" : "GET"),
        headers: frameHeaders(userId),
        body: init.body ? JSON.stringify(init.body) : undefined,
      }),
    pushTicket: (userId, url = appUrl) =>
      fetch(`${url}/api/push/ticket`, { method: "POST", headers: frameHeaders(userId) }),
    async install() {
      const { page } = await portal.installApp({ handlerUrl: `${appUrl}/install` });
      const response = await page!.post();
      if (response.ok) await portal.finishInstall();
      return response;
    },
  };
}

/** The emulator, the app, and frame calls to it. */
export interface BitrixHarness extends FrameClient, AsyncDisposable {
  portal: Portal;
  app: TestApp;
  /**
   * Another instance of the app on the same database, settings and address, on a fresh port
   * (a second replica, or the app restarted after `app.close()`). The caller closes it.
   */
  anotherInstance(): Promise<TestApp>;
  /**
   * `userId`'s call as stored once the Bitrix24 side started by the reports so far is done
   * (reports answer before it).
   */
  synced(userId: number, sipCallId: string): Promise<CallView | undefined>;
  close(): Promise<void>;
}

/** Starts the emulator and the app (on `databaseUrl`, default in-memory PGlite). */
export async function startBitrixHarness(
  opts: {
    databaseUrl?: string;
    portal?: PortalOptions;
    env?: Record<string, string>;
    /** Timings over {@link TEST_BITRIX_TIMINGS}. */
    bitrix?: NonNullable<TestServiceOptions>["bitrix"];
  } = {},
): Promise<BitrixHarness> {
  const port = freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const portal = await startPortal({
    app: { type: "local" },
    appUrl: `${appUrl}/`,
    installUrl: `${appUrl}/install`,
    ...opts.portal,
  });
  const env = {
    APP_BASE_URL: appUrl,
    BITRIX_OAUTH_URL: portal.tokenUrl,
    FRAME_ANCESTORS: portal.url,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  };
  // A portal without a rate limit: the app needs not keep to one either.
  const unlimited = opts.portal?.rateLimit === false
    ? { syncRate: { perSecond: 100_000, burst: 100_000 } }
    : {};
  const timings = { bitrix: { ...TEST_BITRIX_TIMINGS, ...unlimited, ...opts.bitrix } };
  const app = await startTestApp({ PORT: String(port), ...env }, timings);
  const close = async () => {
    await app.close();
    await portal.close();
  };
  return {
    portal,
    app,
    anotherInstance: () => startTestApp(env, timings),
    async synced(userId, sipCallId) {
      await app.services.bitrix.callSync.settled();
      const { id: portalId } = (await app.services.portals.findByMemberId(portal.memberId))!;
      const row = await app.services.calls.find(portalId, userId, sipCallId);
      return row && callView(row);
    },
    ...frameClient(portal, app.url),
    close,
    [Symbol.asyncDispose]: close,
  };
}
