/**
 * The fallback host: in a cross-site iframe with third-party cookies blocked, Chromium refuses
 * the SharedWorker and Web Locks (no storage partitioning, as Playwright launches it). The
 * phone then elects one tab over a BroadcastChannel to run the engine; the other tab talks to
 * it and still owns media for the calls it answers. When the host tab goes, the other one takes
 * over and registers again.
 */
import { assertEquals } from "../support/assert.ts";
import { launchChromium, launchPersistentChromium } from "../support/chromium.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import { audioFlowing, phoneBundles, PhonePage, startPageServer } from "./harness.ts";
import { phoneTest } from "./gate.ts";
import { waitFor } from "../support/wait.ts";

phoneTest("[phone] SharedWorker refused in a cross-site iframe: the tab host works", async (t) => {
  await using kam = await startKamailio();
  await using server = startPageServer(await phoneBundles());
  await using blocked = await launchPersistentChromium({
    preferences: { profile: { cookie_controls_mode: 1, block_third_party_cookies: true } },
  });
  await using other = await launchChromium();
  const b = await PhonePage.open(
    await (await other.newContext()).newPage(),
    server.origin,
    "bob",
  );
  await b.register("bob", kam.wsUrl);

  const page1 = blocked.context.pages()[0] ?? await blocked.context.newPage();
  const x = await PhonePage.openInCrossSiteFrame(page1, server.port, "alice-x");
  const page2 = await blocked.context.newPage();
  const y = await PhonePage.openInCrossSiteFrame(page2, server.port, "alice-y");

  await t.step("both frames use the tab host; one registration", async () => {
    assertEquals((await x.state()).host, "tab");
    assertEquals((await y.state()).host, "tab");
    const sx = await x.register("alice", kam.wsUrl);
    assertEquals(sx.registration.state, "registered");
    const sy = await y.register("alice", kam.wsUrl);
    assertEquals(sy.registration.state, "registered");
    assertEquals(await kam.contacts("alice"), 1);
  });

  await t.step("incoming call answered in the follower frame: audio both ways", async () => {
    const out = await b.call("alice");
    const incoming = await y.waitForCall("incoming", "inbound");
    await x.waitForCall("incoming", "inbound");
    await y.run((p, id) => p.answer(id), incoming.id);
    await audioFlowing(y, incoming.id, b, out.id);
    assertEquals(await x.stats(incoming.id), null);
    await b.run((p, id) => p.hangup(id), out.id);
    await y.waitForCall("ended");
  });

  await t.step("outgoing call from the other frame: audio both ways", async () => {
    const placed = await x.call("bob");
    const incoming = await b.waitForCall("incoming", "inbound");
    await b.run((p, id) => p.answer(id), incoming.id);
    await audioFlowing(x, placed.id, b, incoming.id);
    await x.run((p, id) => p.hangup(id), placed.id);
    await b.waitForCall("ended");
  });

  await t.step("the host tab closes: the other frame takes over and registers", async () => {
    const before = (await y.state()).engineId;
    await page1.close();
    const s = await waitFor("a new engine in the surviving frame, registered", async () => {
      const s = await y.state();
      return s.engineId !== before && s.registration.state === "registered" ? s : undefined;
    }, { timeoutMs: 15_000 });
    assertEquals(s.host, "tab");
    const placed = await y.call("bob");
    const incoming = await b.waitForCall("incoming", "inbound");
    await b.run((p, id) => p.answer(id), incoming.id);
    await audioFlowing(y, placed.id, b, incoming.id);
    await b.run((p, id) => p.hangup(id), incoming.id);
    await waitFor("y idle", async () => (await y.state()).calls.every((c) => c.state === "ended"));
  });
});
