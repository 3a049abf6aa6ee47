/**
 * Firefox's host choice in a cross-site frame, as Bitrix24 embeds the app: with Firefox's
 * default privacy settings (Total Cookie Protection partitions the frame's storage by the top
 * site), with strict tracking protection, and with every third-party cookie blocked (a custom
 * setting). One Firefox process per setting, two checks in it:
 *
 * - the phone engine in a frame (top page on 127.0.0.1, frame on `localhost`): which host runs
 *   it, one engine and one registration for two tabs (or one each, said so, where Firefox
 *   keeps them apart), a call answered in a frame with audio both ways on 127.0.0.1;
 * - the app itself in the portal emulator's page on 127.0.0.2: the phone registers from the
 *   portal's tabs, the page warns only where tabs cannot share the phone (screenshots in
 *   test-artifacts/, both languages).
 */
import { assertEquals } from "../support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "../support/bitrix.ts";
import { launchChromium } from "../support/chromium.ts";
import { type FirefoxBrowser, launchFirefox } from "../support/firefox.ts";
import { type KamailioServer, startKamailio } from "../kamailio/kamailio.ts";
import { audioFlowing, phoneBundles, PhonePage, startPageServer } from "./harness.ts";
import { firefoxPhoneTest } from "./gate.ts";
import { waitFor } from "../support/wait.ts";

/** Firefox's "Strict" Enhanced Tracking Protection, as its category sets the preferences. */
const STRICT: Record<string, unknown> = {
  "browser.contentblocking.category": "strict",
  "network.cookie.cookieBehavior": 5,
  "network.cookie.cookieBehavior.pbmode": 5,
  "privacy.trackingprotection.enabled": true,
  "privacy.trackingprotection.pbmode.enabled": true,
  "privacy.trackingprotection.socialtracking.enabled": true,
  "privacy.trackingprotection.emailtracking.enabled": true,
  "privacy.fingerprintingProtection": true,
  "privacy.query_stripping.enabled": true,
  "privacy.annotate_channels.strict_list.enabled": true,
  "network.http.referer.disallowCrossSiteRelaxingDefault.top_navigation": true,
  "privacy.bounceTrackingProtection.mode": 1,
};

interface Mode {
  name: string;
  prefs: Record<string, unknown>;
  host: "worker" | "tab";
  /** One engine for both tabs; false: each tab its own (and its own registration). */
  shared: boolean;
  /** Languages of the portal page checked in this setting. */
  portal: ("en" | "ru")[];
}

const MODES: Mode[] = [
  { name: "default privacy settings", prefs: {}, host: "worker", shared: true, portal: ["en"] },
  {
    name: "strict tracking protection",
    prefs: STRICT,
    host: "worker",
    shared: true,
    portal: ["ru"],
  },
  {
    // SharedWorker, BroadcastChannel and Web Locks all throw SecurityError in the frame.
    name: "all third-party cookies blocked",
    prefs: { "network.cookie.cookieBehavior": 1 },
    host: "tab",
    shared: false,
    portal: ["en", "ru"],
  },
];

const ADMIN = 1;
const ANNA = 2;
const ARTIFACTS = new URL("../../test-artifacts/", import.meta.url).pathname;

/** A portal emulator on 127.0.0.2 with the app installed and Anna given SIP account `sip`. */
async function portalWithAnna(kam: KamailioServer, lang: "en" | "ru", sip: string) {
  const h = await startBitrixHarness({ portal: { hostname: "127.0.0.2", language: lang } });
  assertEquals((await h.install()).status, 200);
  await h.widget(ADMIN, {
    event: "UPDATECREED",
    clientId: h.portal.app.clientId,
    secretId: h.portal.app.clientSecret,
  });
  const saved = await h.widget(ADMIN, {
    event: "SAVEUSERDATA",
    userId: ANNA,
    url: kam.wsUrl,
    user: sip,
    password: "secret",
    sipUri: `sip:${sip}@test.local`,
  });
  assertEquals(saved.status, 200);
  return Object.assign(h, { sip });
}

/** Anna opens the app in two portal tabs; the phone registers, the banner shows or not. */
async function appInPortal(
  firefox: FirefoxBrowser,
  kam: KamailioServer,
  h: BitrixHarness & { sip: string },
  mode: Mode,
  lang: "en" | "ru",
) {
  const sip = h.sip;
  const context = await firefox.newContext();
  const openApp = async () => {
    const page = await context.newPage();
    await page.setViewport({ width: 1100, height: 800 });
    await page.goto(h.portal.pageUrl({ userId: ANNA, placement: "DEFAULT", lang }));
    const frame = await waitFor("the app frame", () =>
      Promise.resolve(
        page.frames().find((f) =>
          f.url().startsWith(h.app.url) && !f.url().includes("/placement/background")
        ),
      ));
    await frame.waitForSelector("[data-testid=registration][data-state=registered]", {
      timeout: 20_000,
    });
    assertEquals(await frame.$eval("html", (e) => e.getAttribute("lang")), lang);
    return { page, frame };
  };
  const first = await openApp();
  const second = await openApp();
  for (const { frame } of [first, second]) {
    assertEquals(await frame.$("[data-testid=tabs-not-shared]") === null, mode.shared);
  }
  // One registration for the portal's tabs; where Firefox keeps the frames apart, one per app
  // frame: each portal tab holds two (the page and the hidden background worker).
  const expected = mode.shared ? 1 : 4;
  await waitFor(`${expected} contacts`, async () => (await kam.contacts(sip)) === expected, {
    timeoutMs: 15_000,
  });
  if (!mode.shared) {
    await first.page.bringToFront();
    await first.page.screenshot({ path: `${ARTIFACTS}/firefox-tabs-not-shared-${lang}.png` });
  }
  await context.close();
  await waitFor("no contact", async () => (await kam.contacts(sip)) === 0, { timeoutMs: 15_000 });
}

firefoxPhoneTest("[phone] Firefox in a cross-site frame: host choice, registrations", async (t) => {
  await using kam = await startKamailio();
  await using server = startPageServer(await phoneBundles());
  await using chromium = await launchChromium();
  const bob = await PhonePage.open(
    await (await chromium.newContext()).newPage(),
    server.origin,
    "bob-cr",
  );
  await bob.register("bob", kam.wsUrl);
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using en = await portalWithAnna(kam, "en", "2012");
  await using ru = await portalWithAnna(kam, "ru", "2022");

  for (const [i, mode] of MODES.entries()) {
    const what = mode.shared ? "one registration" : "a registration per tab, said so";
    const pages = `the app in the portal (${mode.portal.join(", ")})`;
    await t.step(`${mode.name}: the ${mode.host} host, ${what}, audio; ${pages}`, async () => {
      const user = `frame${i}`;
      await using firefox = await launchFirefox({ prefs: mode.prefs });
      const context = await firefox.newContext();
      const x = await PhonePage.openInCrossSiteFrame(await context.newPage(), server.port, "x-ff");
      const y = await PhonePage.openInCrossSiteFrame(await context.newPage(), server.port, "y-ff");
      for (const s of [await x.state(), await y.state()]) {
        assertEquals(s.host, mode.host);
        assertEquals(s.tabsShared, mode.shared);
      }
      assertEquals((await x.register(user, kam.wsUrl)).registration.state, "registered");
      assertEquals((await y.register(user, kam.wsUrl)).registration.state, "registered");
      const sameEngine = (await x.state()).engineId === (await y.state()).engineId;
      assertEquals(sameEngine, mode.shared);
      assertEquals(await kam.contacts(user), mode.shared ? 1 : 2);

      const out = await bob.call(user);
      const incoming = await y.waitForCall("incoming", "inbound");
      await x.waitForCall("incoming", "inbound");
      await y.run((p, id) => p.answer(id), incoming.id);
      const flow = await audioFlowing(y, incoming.id, bob, out.id);
      assertEquals(flow.a.selectedPair?.local.address, "127.0.0.1");
      assertEquals(flow.b.selectedPair?.remote.address, "127.0.0.1");
      // The other tab's phone stops ringing: the same call without media there, or its own
      // forked leg cancelled by the registrar.
      await waitFor("x not ringing", async () => !(await x.run((p) => p.ringing)));
      assertEquals(await x.stats(incoming.id), null);
      await bob.run((p, id) => p.hangup(id), out.id);
      await y.waitForCall("ended");
      await x.run((p) => p.unregister());
      await y.run((p) => p.unregister());
      await waitFor("no contact", async () => (await kam.contacts(user)) === 0);

      for (const lang of mode.portal) {
        await appInPortal(firefox, kam, lang === "en" ? en : ru, mode, lang);
      }
    });
  }
});
