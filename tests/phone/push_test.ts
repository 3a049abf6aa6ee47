// deno-lint-ignore-file no-explicit-any
/**
 * The push stream in Chromium: the phone engine's host (the SharedWorker, and the elected tab
 * where no SharedWorker starts) holds one `EventSource` for every tab of the phone, against the
 * real app's `/api/push/stream`; each tab gets each message once; a stream the server drops is
 * resumed with the last id and loses nothing; the stream moves to another tab when the one that
 * gave tickets leaves.
 *
 * No SIP here; the pages come from the harness's server, which passes `/api/push/stream` to
 * the app (the same origin for `EventSource`) and hands out tickets at `/__ticket` (frame
 * authentication of the ticket is tested over HTTP in tests/push_test.ts).
 */
import { assertEquals } from "../support/assert.ts";
import { chromiumAvailable, launchChromium } from "../support/chromium.ts";
import { requireService } from "../support/services.ts";
import { startTestApp } from "../support/app.ts";
import { waitFor } from "../support/wait.ts";
import { phoneBundles, PhonePage, startPageServer } from "./harness.ts";

const noChromium = requireService("Chromium", chromiumAvailable(), "apt-get install chromium");

const pushes = (p: PhonePage) =>
  p.evaluate(() => (globalThis as any).T.pushes.map((e: any) => [e.id, e.data.n]));

for (const host of ["worker", "tab"] as const) {
  Deno.test({
    name: `[phone] push: one stream for all tabs (${host} host), resumed after a drop, handed on`,
    ignore: noChromium,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using app = await startTestApp({}, { push: { heartbeatMs: 1000 } });
      const { push, portals } = app.services;
      const { portal } = await portals.upsertInstall({
        memberId: "m-push-browser",
        domain: "acme.bitrix24.ru",
        clientEndpoint: "https://acme.bitrix24.ru/rest/",
        tokens: { accessToken: "a", refreshToken: "r", expiresAt: new Date(Date.now() + 3600e3) },
        installedByUserId: 1,
      });
      let tickets = 0;
      await using server = startPageServer(await phoneBundles(), {
        "/__ticket": async () => {
          tickets++;
          return new Response(`/api/push/stream?ticket=${await push.issueTicket(portal.id, 7)}`);
        },
        "/api/push/stream": (req) =>
          fetch(`${app.url}${new URL(req.url).pathname}${new URL(req.url).search}`, {
            headers: req.headers,
          }),
      });
      await using browser = await launchChromium();
      const context = await browser.newContext();
      const options = { host, journal: false };
      const tabs = [
        await PhonePage.open(await context.newPage(), server.origin, "tab-1", options),
        await PhonePage.open(await context.newPage(), server.origin, "tab-2", options),
        await PhonePage.open(await context.newPage(), server.origin, "tab-3", options),
      ];
      const subscribe = (p: PhonePage) =>
        p.run((phone) => {
          phone.onPushTicket(() => fetch("/__ticket").then((r: Response) => r.text()));
        });
      for (const tab of tabs) await subscribe(tab);
      await tabs[0].waitFor((s) => s.push?.state === "open");
      assertEquals((await tabs[2].state()).push?.state, "open", "one engine, one stream state");
      assertEquals(push.streamCount, 1, "three tabs, one stream");
      assertEquals(tickets, 1);

      await push.publish(portal.id, 7, "note", { n: 1 });
      await push.publish(portal.id, 7, "note", { n: 2 });
      for (const tab of tabs) {
        await waitFor(`${tab.name} got 2`, async () => (await pushes(tab)).length === 2);
      }
      for (const tab of tabs) assertEquals(await pushes(tab), [[1, 1], [2, 2]], tab.name);

      // The server drops the stream (an instance going away); a message lands meanwhile.
      push.closeStreams(portal.id);
      await push.publish(portal.id, 7, "note", { n: 3 });
      for (const tab of tabs) {
        await waitFor(`${tab.name} got 3`, async () => (await pushes(tab)).length === 3, {
          timeoutMs: 15_000,
        });
      }
      await tabs[1].waitFor((s) => s.push?.state === "open" && s.push.lastEventId === 3);
      assertEquals(push.streamCount, 1);
      assertEquals(tickets, 2, "a new ticket for the resumed stream");
      for (const tab of tabs) assertEquals(await pushes(tab), [[1, 1], [2, 2], [3, 3]], tab.name);

      // The tab that gave the tickets leaves; the stream stays one (the next tab gives them).
      await (tabs[0].target as any).close();
      push.closeStreams(portal.id);
      await push.publish(portal.id, 7, "note", { n: 4 });
      for (const tab of tabs.slice(1)) {
        await waitFor(`${tab.name} got 4`, async () => (await pushes(tab)).length === 4, {
          timeoutMs: 15_000,
        });
        assertEquals((await pushes(tab)).at(-1), [4, 4]);
      }
      await waitFor("one stream again", () => push.streamCount === 1);
      await waitFor("user 7 online", () => push.isOnline(portal.id, 7));
      // Everyone leaves: the stream closes and the user is offline.
      await context.close();
      await waitFor("no stream", () => push.streamCount === 0);
      await waitFor("user 7 offline", async () => !(await push.isOnline(portal.id, 7)));
    },
  });
}
