/**
 * Sound where the portal's frames may not autoplay (reference fact 8): with the browser's real
 * autoplay policy and frames granted no `autoplay`, the hidden worker frame cannot play sound.
 * The card then says so; with the app's own page open in another tab (a visible frame, which may
 * play), that page rings and carries the call's audio, though the call is answered from the card.
 */
import type { Frame, Page } from "playwright-core";
import { assert } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { launchChromium } from "./support/chromium.ts";
import { noPostgres, startPostgres } from "./support/postgres.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { phoneTest } from "./phone/gate.ts";
import { phoneBundles, PhonePage, startPageServer } from "./phone/harness.ts";
import { inboundBytes, recordPeerConnections } from "./support/webrtc.ts";
import { sleep, waitFor } from "./support/wait.ts";

const ADMIN = 1;
const ANNA = 2;
const NO_AUTOPLAY = "geolocation *; microphone *; camera *;";

function appFrame(page: Page, url: string, path: string): Promise<Frame> {
  return waitFor(`the app frame ${path}`, () =>
    Promise.resolve(
      page.frames().find((f) => f.url().startsWith(`${url}${path}`) && !f.isDetached()),
    ));
}

phoneTest(
  "[e2e] frames without autoplay: the card says nothing can ring; an open app tab rings and plays",
  async () => {
    const pg = noPostgres ? undefined : await startPostgres();
    try {
      await using kamailio = await startKamailio();
      await using h = await startBitrixHarness({
        databaseUrl: pg?.url,
        portal: { hostname: "127.0.0.2", language: "en", pages: { frameAllow: NO_AUTOPLAY } },
      });
      await using browser = await launchChromium({ realAutoplay: true });
      await using far = startPageServer(await phoneBundles());

      if ((await h.install()).status !== 200) throw new Error("install failed");
      const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
      await (await h.widget(ADMIN, { event: "UPDATECREED", ...creds })).body?.cancel();
      const saved = await h.widget(ADMIN, {
        event: "SAVEUSERDATA",
        userId: ANNA,
        url: kamailio.wsUrl,
        user: "1002",
        password: "secret",
        sipUri: "sip:1002@test.local",
      });
      await saved.body?.cancel();
      assert(saved.ok, `SAVEUSERDATA ${saved.status}`);

      const context = await browser.newContext();
      await context.addInitScript(recordPeerConnections);
      const portalTab = await context.newPage();
      await portalTab.goto(h.portal.pageUrl({ userId: ANNA }));
      await waitFor("registered", async () => (await kamailio.contacts("1002")) >= 1, {
        timeoutMs: 20_000,
      });
      const bob = await PhonePage.open(
        await (await browser.newContext()).newPage(),
        far.origin,
        "bob",
      );
      await bob.register("1003", kamailio.wsUrl);

      // Only the hidden worker frame: nothing may play sound, and the card says so.
      const first = await bob.call("1002");
      await portalTab.waitForSelector("[data-testid=call-card][data-ui-state=incoming]", {
        timeout: 20_000,
      });
      await waitFor(
        "the card's no-sound note",
        async () =>
          (await portalTab.textContent("[data-testid=call-card-status]"))?.includes("No sound") ||
          undefined,
      );
      await bob.run((p, id) => p.hangup(id), first.id);
      await portalTab.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // The app's own page open in another tab (a visible frame that may play sound here): the
      // phone no longer says nothing can ring.
      const appTab = await context.newPage();
      await appTab.goto(h.portal.pageUrl({ userId: ANNA, placement: "DEFAULT", workers: false }));
      const phoneFrame = await appFrame(appTab, h.app.url, "/");
      await phoneFrame.waitForSelector("[data-island=Phone][data-hydrated='1']");
      await sleep(1000); // its sound probe
      assert(!(await phoneFrame.$("[data-testid=sound-blocked]")), "this page may play sound");

      // Answered from the card in the portal tab: the media lives in the app tab, which plays.
      const second = await bob.call("1002");
      await portalTab.waitForSelector("[data-testid=call-card][data-ui-state=incoming]", {
        timeout: 20_000,
      });
      const status = await portalTab.textContent("[data-testid=call-card-status]");
      assert(!status?.includes("No sound"), `status ${status}`);
      await portalTab.click("[data-testid=call-card-answer]");
      await portalTab.waitForSelector("[data-testid=call-card][data-ui-state=connected]");
      const before = await inboundBytes(phoneFrame);
      await waitFor(
        "the far party's audio in the app tab",
        async () => (await inboundBytes(phoneFrame)) > before + 2000,
        { timeoutMs: 15_000, intervalMs: 250 },
      );
      await bob.run((p, id) => p.hangup(id), second.id);
    } finally {
      await pg?.close();
    }
  },
);
