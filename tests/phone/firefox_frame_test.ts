/**
 * Firefox's host choice in a cross-site frame, as Bitrix24 embeds the app (the top page on
 * 127.0.0.1, the phone's frame on `localhost`): with Firefox's default privacy settings (Total
 * Cookie Protection partitions the frame's storage by the top site), with strict tracking
 * protection, and with every third-party cookie blocked (a custom setting). In each, two tabs
 * of the same portal share one engine and one registration, and a call answered in a frame has
 * audio both ways on 127.0.0.1.
 */
import { assertEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { launchFirefox } from "../support/firefox.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
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
}

const MODES: Mode[] = [
  { name: "default privacy settings", prefs: {}, host: "worker", shared: true },
  { name: "strict tracking protection", prefs: STRICT, host: "worker", shared: true },
  {
    // SharedWorker, BroadcastChannel and Web Locks all throw SecurityError in the frame.
    name: "all third-party cookies blocked",
    prefs: { "network.cookie.cookieBehavior": 1 },
    host: "tab",
    shared: false,
  },
];

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

  for (const [i, mode] of MODES.entries()) {
    const what = mode.shared ? "one registration" : "a registration per tab, said so";
    await t.step(`${mode.name}: the ${mode.host} host, ${what}, audio`, async () => {
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
    });
  }
});
