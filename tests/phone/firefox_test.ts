/**
 * The phone engine in Firefox ESR against Chromium through a real Kamailio: registration, calls
 * both ways with audio counted both ways on 127.0.0.1, DTMF (RFC 4733 and INFO), hold from
 * either end, blind and attended transfer, the media tab closed mid-call (the call moves to
 * another Firefox tab), and a Kamailio restart. One Firefox and one Chromium process for the
 * file; each party is its own browser context.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { launchFirefox } from "../support/firefox.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import {
  audioFlowing,
  killTab,
  phoneBundles,
  PhonePage,
  type PhonePage as Phone,
  startPageServer,
} from "./harness.ts";
import { firefoxPhoneTest } from "./gate.ts";
import { sleep, waitFor } from "../support/wait.ts";

async function connected(caller: Phone, callee: Phone, number: string) {
  const placed = await caller.call(number);
  const incoming = await waitFor(
    `${callee.name} rings`,
    async () =>
      (await callee.state()).calls.find((c) =>
        c.state === "incoming" && c.sipCallId === placed.sipCallId
      ),
  );
  await callee.run((p, id) => p.answer(id), incoming.id);
  await waitFor(
    `${caller.name} connected`,
    async () => (await caller.state()).calls.find((c) => c.id === placed.id)?.state === "connected",
  );
  return { out: placed.id, in: incoming.id };
}

async function idle(...phones: Phone[]) {
  for (const p of phones) {
    await waitFor(
      `${p.name} idle`,
      async () => (await p.state()).calls.every((c) => c.state === "ended"),
    ).catch(async (e) => {
      const calls = (await p.state()).calls.map((c) => `${c.number}:${c.state}:${c.endReason}`);
      throw new Error(`${e.message}; calls: ${calls.join(", ")}`);
    });
  }
}

/**
 * Audio both ways, and both ends' selected ICE pair on loopback: 127.0.0.1 whenever Chromium
 * is an end (it gathers no IPv6 loopback); two Firefox ends may pair on `::1` (both gather it).
 */
async function loopbackAudio(a: Phone, aCall: string, b: Phone, bCall: string, timeoutMs?: number) {
  const flow = await audioFlowing(a, aCall, b, bCall, timeoutMs);
  const firefoxOnly = [a, b].every((p) => p.name.includes("-ff"));
  for (const s of [flow.a, flow.b]) {
    const local = s.selectedPair?.local.address;
    if (firefoxOnly && local === "::1") assertEquals(s.selectedPair?.remote.address, "::1");
    else {
      assertEquals(local, "127.0.0.1");
      assertEquals(s.selectedPair?.remote.address, "127.0.0.1");
    }
  }
  return flow;
}

firefoxPhoneTest(
  "[phone] Firefox: calls with Chromium, DTMF, hold, transfer, takeover",
  async (t) => {
    await using kam = await startKamailio();
    await using server = startPageServer(await phoneBundles());
    await using firefox = await launchFirefox();
    await using chromium = await launchChromium();
    const ctxA = await firefox.newContext();
    const a = await PhonePage.open(await ctxA.newPage(), server.origin, "alice-ff");
    const b = await PhonePage.open(
      await (await chromium.newContext()).newPage(),
      server.origin,
      "bob-cr",
    );
    const c = await PhonePage.open(
      await (await firefox.newContext()).newPage(),
      server.origin,
      "carol-ff",
    );

    await t.step("Firefox registers through Kamailio (SharedWorker host)", async () => {
      const sa = await a.register("alice", kam.wsUrl);
      assertEquals(sa.registration.state, "registered");
      assertEquals(sa.host, "worker");
      await b.register("bob", kam.wsUrl);
      await c.register("carol", kam.wsUrl);
      assertEquals(await kam.contacts("alice"), 1);
      assertEquals(await kam.contacts("carol"), 1);
    });

    let ab = { out: "", in: "" };
    await t.step("Firefox calls Chromium: audio both ways on 127.0.0.1", async () => {
      ab = await connected(a, b, "bob");
      await b.waitForCall("connected");
      await loopbackAudio(a, ab.out, b, ab.in);
    });

    await t.step("DTMF: RFC 4733 and INFO from Firefox, INFO from Chromium", async () => {
      assertEquals(await a.run((p, id) => p.dtmf(id, "12#"), ab.out), { via: "rfc4733" });
      await waitFor("tones sent", async () => (await a.stats(ab.out))?.dtmfSent === "12#");
      assertEquals(await a.run((p, id) => p.dtmf(id, "5*", "info"), ab.out), { via: "info" });
      const atBob = await waitFor("INFO DTMF at bob", async () => {
        const d = await b.dtmfReceived();
        return d.length >= 2 ? d : undefined;
      });
      assertEquals(atBob.map((e) => e.tone).join(""), "5*");
      assertEquals(await b.run((p, id) => p.dtmf(id, "9", "info"), ab.in), { via: "info" });
      const atAlice = await waitFor("INFO DTMF at alice", async () => {
        const d = await a.dtmfReceived();
        return d.length >= 1 ? d : undefined;
      });
      assertEquals(atAlice.map((e) => e.tone).join(""), "9");
      assertEquals(atAlice[0].callId, ab.out);
    });

    await t.step("hold and unhold from Firefox, then from Chromium", async () => {
      const held = await a.run((p, id) => p.hold(id, true), ab.out);
      assertEquals(held.state, "held");
      await b.waitFor((s) => s.calls.some((x) => x.remoteHeld));
      await waitFor(
        "alice sendonly",
        async () => (await a.stats(ab.out))?.directions[0] === "sendonly",
      );
      assertEquals((await b.stats(ab.in))?.directions, ["recvonly"]);
      const before = (await a.stats(ab.out))!.bytesReceived;
      await sleep(700);
      assert((await a.stats(ab.out))!.bytesReceived - before < 300, "no audio to the holder");
      assertEquals(
        (await a.run((p, id) => p.hold(id, false), ab.out)).state,
        "connected",
      );
      await waitFor("sendrecv", async () => (await a.stats(ab.out))?.directions[0] === "sendrecv");
      await loopbackAudio(a, ab.out, b, ab.in);

      assertEquals((await b.run((p, id) => p.hold(id, true), ab.in)).state, "held");
      await waitFor(
        "alice sees remote hold",
        async () => (await a.state()).calls.find((x) => x.id === ab.out)?.remoteHeld,
      );
      await waitFor(
        "alice recvonly",
        async () => (await a.stats(ab.out))?.directions[0] === "recvonly",
      );
      await b.run((p, id) => p.hold(id, false), ab.in);
      await waitFor(
        "alice sendrecv",
        async () => (await a.stats(ab.out))?.directions[0] === "sendrecv",
      );
      await loopbackAudio(a, ab.out, b, ab.in);
      await a.run((p, id) => p.hangup(id), ab.out);
      await idle(a, b);
    });

    await t.step("Chromium calls Firefox: audio both ways on 127.0.0.1, journal", async () => {
      const ba = await connected(b, a, "alice");
      await loopbackAudio(a, ba.in, b, ba.out);
      await b.run((p, id) => p.hangup(id), ba.out);
      await idle(a, b);
      const entries = await waitFor("alice's journal", async () => {
        const j = (await a.journal()).filter((e) => e.callId === ba.in);
        return j.length === 3 ? j : undefined;
      });
      assertEquals(entries.map((e) => e.phase), ["start", "answer", "end"]);
      assertEquals(entries[2].direction, "inbound");
      assertEquals(entries[2].reason, "remote-hangup");
    });

    await t.step("blind transfer: Chromium sends Firefox's caller to another Firefox", async () => {
      const call = await connected(a, b, "bob");
      await b.run((p, id) => p.transfer(id, "carol"), call.in);
      const ringing = await c.waitForCall("incoming", "inbound");
      assertEquals(ringing.number, "alice");
      await c.run((p, id) => p.answer(id), ringing.id);
      const ac = await waitFor(
        "alice connected to carol",
        async () =>
          (await a.state()).calls.find((x) => x.state === "connected" && x.number === "carol"),
      );
      assertEquals(ac.referredBy, call.out);
      await loopbackAudio(a, ac.id, c, ringing.id);
      await c.run((p, id) => p.hangup(id), ringing.id);
      await idle(a, b, c);
    });

    await t.step("attended transfer by Firefox: Chromium and Firefox joined", async () => {
      const first = await connected(a, b, "bob");
      await a.run((p, id) => p.hold(id, true), first.out);
      const consult = await connected(a, c, "carol");
      await a.run((p, x) => p.attendedTransfer(x.from, x.to), { from: first.out, to: consult.out });
      await idle(a);
      assertEquals(
        (await a.state()).calls.find((x) => x.id === first.out)?.endReason,
        "transferred",
      );
      const bc = await waitFor(
        "bob connected to carol",
        async () =>
          (await b.state()).calls.find((x) => x.state === "connected" && x.number === "carol"),
      );
      const cb = await waitFor(
        "carol connected to bob",
        async () =>
          (await c.state()).calls.find((x) => x.state === "connected" && x.number === "bob"),
      );
      await loopbackAudio(b, bc.id, c, cb.id);
      await b.run((p, id) => p.hangup(id), bc.id);
      await idle(a, b, c);
    });

    await t.step("the media tab closes mid-call: the call moves to the other tab", async () => {
      const tab2Page = await ctxA.newPage();
      const a2 = await PhonePage.open(tab2Page, server.origin, "alice-ff-2");
      await a2.register("alice", kam.wsUrl);
      assertEquals(await kam.contacts("alice"), 1);
      const out = await b.call("alice");
      const incoming = await a2.waitForCall("incoming", "inbound");
      await a2.run((p, id) => p.answer(id), incoming.id);
      await b.waitForCall("connected", "outbound");
      await loopbackAudio(a2, incoming.id, b, out.id);
      await killTab(tab2Page);
      const tab1Id = await a.run((p) => p.tabId);
      await waitFor(
        "media owner = tab 1",
        async () =>
          (await a.state()).calls.find((x) => x.id === incoming.id)?.mediaTabId === tab1Id,
      );
      await loopbackAudio(a, incoming.id, b, out.id);
      await a.run((p, id) => p.hangup(id), incoming.id);
      await idle(a, b);
    });

    await t.step("a tab that placed a call closes: the call moves too", async () => {
      const tab3Page = await ctxA.newPage();
      const a3 = await PhonePage.open(tab3Page, server.origin, "alice-ff-3");
      await a3.register("alice", kam.wsUrl);
      const call = await connected(a3, b, "bob");
      await loopbackAudio(a3, call.out, b, call.in);
      await killTab(tab3Page);
      const tab1Id = await a.run((p) => p.tabId);
      await waitFor(
        "media owner = tab 1",
        async () => (await a.state()).calls.find((x) => x.id === call.out)?.mediaTabId === tab1Id,
      );
      await loopbackAudio(a, call.out, b, call.in, 15_000);
      await b.run((p, id) => p.hangup(id), call.in);
      await idle(a, b);
    });

    await t.step("Kamailio restarts: Firefox re-registers and calls again", async () => {
      await kam.restart();
      await waitFor("alice re-registered", async () => (await kam.contacts("alice")) === 1, {
        timeoutMs: 15_000,
      });
      await waitFor("bob re-registered", async () => (await kam.contacts("bob")) === 1, {
        timeoutMs: 15_000,
      });
      const s = await a.waitFor((s) => s.registration.state === "registered", 10_000);
      assertEquals(s.connection, "connected");
      const call = await connected(a, b, "bob");
      await loopbackAudio(a, call.out, b, call.in);
      await a.run((p, id) => p.hangup(id), call.out);
      await idle(a, b);
    });
  },
);
