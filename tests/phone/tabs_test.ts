/**
 * One engine for many tabs: two tabs of alice share one registration, any tab can answer and
 * own media, a crashed media tab hands its call to the other tab (re-INVITE, fresh peer
 * connection, audio again), and a Kamailio restart is survived (reconnect, re-register, call).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import { audioFlowing, killTab, phoneBundles, PhonePage, startPageServer } from "./harness.ts";
import { phoneTest } from "./gate.ts";
import { waitFor } from "../support/wait.ts";

phoneTest(
  "[phone] two tabs, one contact; media moves when its tab dies; Kamailio restart",
  async (t) => {
    await using kam = await startKamailio();
    await using server = startPageServer(await phoneBundles());
    await using browser = await launchChromium();
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    const tab1 = await PhonePage.open(await ctxA.newPage(), server.origin, "alice-1");
    const tab2Page = await ctxA.newPage();
    const tab2 = await PhonePage.open(tab2Page, server.origin, "alice-2");
    const b = await PhonePage.open(await ctxB.newPage(), server.origin, "bob");

    await t.step("both tabs register alice: one contact in Kamailio", async () => {
      await tab1.register("alice", kam.wsUrl);
      const s2 = await tab2.register("alice", kam.wsUrl);
      assertEquals(s2.registration.state, "registered");
      assertEquals(s2.host, "worker");
      await b.register("bob", kam.wsUrl);
      assertEquals(await kam.contacts("alice"), 1);
    });

    await t.step("bob calls alice: both tabs see it, tab 2 answers and owns media", async () => {
      await b.call("alice");
      const in1 = await tab1.waitForCall("incoming", "inbound");
      const in2 = await tab2.waitForCall("incoming", "inbound");
      assertEquals(in1.id, in2.id);
      // Exactly one tab rings (the most recently active one).
      await waitFor("one ringing tab", async () => {
        const r = [await tab1.run((p) => p.ringing), await tab2.run((p) => p.ringing)];
        return r.filter(Boolean).length === 1;
      });
      const answered = await tab2.run((p, id) => p.answer(id), in2.id);
      await waitFor(
        "ringing stopped",
        async () => !(await tab1.run((p) => p.ringing)) && !(await tab2.run((p) => p.ringing)),
      );
      assertEquals(answered.mediaTabId, await tab2.run((p) => p.tabId));
      const bCall = await b.waitForCall("connected", "outbound");
      await tab1.waitForCall("connected");
      await audioFlowing(tab2, in2.id, b, bCall.id);
      assertEquals(await tab1.stats(in2.id), null);
    });

    await t.step("tab 2 crashes mid-call: the call moves to tab 1 with audio", async () => {
      const aCall = (await tab1.state()).calls.find((c) => c.state === "connected")!;
      const bCall = (await b.state()).calls.find((c) => c.state === "connected")!;
      await killTab(tab2Page);
      const tab1Id = await tab1.run((p) => p.tabId);
      await waitFor(
        "media owner = tab 1",
        async () =>
          (await tab1.state()).calls.find((c) => c.id === aCall.id)?.mediaTabId === tab1Id,
      );
      const flow = await audioFlowing(tab1, aCall.id, b, bCall.id);
      assertEquals(flow.a.selectedPair?.local.address, "127.0.0.1");
      assertEquals((await b.state()).calls.find((c) => c.id === bCall.id)?.state, "connected");
      await tab2Page.close().catch(() => {});
      await tab1.run((p, id) => p.hangup(id), aCall.id);
      await b.waitForCall("ended");
      // One journal reporter: tab 1 got the whole call (start, answer, end) exactly once.
      const j = await waitFor("journal in tab 1", async () => {
        const all = (await tab1.journal()).filter((e) => e.callId === aCall.id);
        return all.length >= 3 ? all : undefined;
      });
      assertEquals(j.map((e) => e.phase).sort(), ["answer", "end", "start"]);
      assertEquals(await kam.contacts("alice"), 1);
    });

    await t.step(
      "a tab that placed a call crashes: the call moves too (offerless re-INVITE)",
      async () => {
        const page3 = await ctxA.newPage();
        const tab3 = await PhonePage.open(page3, server.origin, "alice-3");
        const placed = await tab3.call("bob");
        const incoming = await b.waitForCall("incoming", "inbound");
        await b.run((p, id) => p.answer(id), incoming.id);
        await tab3.waitForCall("connected");
        await audioFlowing(tab3, placed.id, b, incoming.id);
        await killTab(page3);
        const tab1Id = await tab1.run((p) => p.tabId);
        await waitFor(
          "media owner = tab 1",
          async () =>
            (await tab1.state()).calls.find((c) => c.id === placed.id)?.mediaTabId === tab1Id,
        );
        await audioFlowing(tab1, placed.id, b, incoming.id, 15_000);
        await page3.close().catch(() => {});
        await tab1.run((p, id) => p.hangup(id), placed.id);
        await b.waitForCall("ended");
      },
    );

    await t.step(
      "Kamailio restarts mid-call: the call survives, both re-register, calls work",
      async () => {
        const live = await tab1.call("bob");
        const liveIn = await b.waitForCall("incoming", "inbound");
        await b.run((p, id) => p.answer(id), liveIn.id);
        await tab1.waitForCall("connected");
        await kam.restart();
        assertEquals(await kam.contacts("alice"), 0);
        await waitFor("alice re-registered", async () => (await kam.contacts("alice")) === 1, {
          timeoutMs: 15_000,
        });
        await waitFor("bob re-registered", async () => (await kam.contacts("bob")) === 1, {
          timeoutMs: 15_000,
        });
        const s = await tab1.waitFor((s) => s.registration.state === "registered", 10_000);
        assertEquals(s.connection, "connected");
        // The WebSocket loss did not end the call and its media still flows.
        assertEquals((await tab1.state()).calls.find((c) => c.id === live.id)?.state, "connected");
        await audioFlowing(tab1, live.id, b, liveIn.id);
        // Kamailio forgot the old connections, so in-dialog requests may not reach the far end:
        // both sides hang up locally.
        await tab1.run((p, id) => p.hangup(id), live.id);
        await b.run((p, id) => p.hangup(id), liveIn.id).catch(() => {});
        await waitFor(
          "bob idle",
          async () => (await b.state()).calls.every((c) => c.state === "ended"),
        );
        const placed = await tab1.call("bob");
        const incoming = await b.waitForCall("incoming", "inbound");
        await b.run((p, id) => p.answer(id), incoming.id);
        await tab1.waitForCall("connected");
        await audioFlowing(tab1, placed.id, b, incoming.id);
        await b.run((p, id) => p.hangup(id), incoming.id);
        await tab1.waitForCall("ended");
      },
    );

    await t.step("no call left behind; the last tab leaving unregisters", async () => {
      const calls = (await b.state()).calls.filter((c) => c.state !== "ended");
      assert(calls.length === 0, JSON.stringify(calls));
      // The last alice tab leaving takes her contact off the registrar (un-REGISTER on pagehide).
      for (const page of ctxA.pages()) await page.close({ runBeforeUnload: false });
      await waitFor("alice unregistered", async () => (await kam.contacts("alice")) === 0);
    });
  },
);
