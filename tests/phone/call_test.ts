/**
 * Phone engine through a real Kamailio and real Chromium: registration, a bad password, a call
 * with audio both ways on 127.0.0.1, DTMF, hold, mute, reject, missed calls and the journal.
 * Each party is its own browser context (its own SharedWorker) in one Chromium process.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import { freePort } from "../support/ports.ts";
import { audioFlowing, phoneBundles, PhonePage, startPageServer } from "./harness.ts";
import { phoneTest } from "./gate.ts";
import { sleep, waitFor } from "../support/wait.ts";

phoneTest(
  "[phone] register, call with audio, DTMF, hold, mute, reject, missed, journal",
  async (t) => {
    await using kam = await startKamailio();
    await using server = startPageServer(await phoneBundles());
    await using browser = await launchChromium();
    const ctxA = await browser.newContext();
    const ctxB = await browser.newContext();
    const a = await PhonePage.open(await ctxA.newPage(), server.origin, "alice");
    const b = await PhonePage.open(await ctxB.newPage(), server.origin, "bob");

    await t.step("register both (worker host)", async () => {
      const sa = await a.register("alice", kam.wsUrl);
      const sb = await b.register("bob", kam.wsUrl);
      assertEquals(sa.registration.state, "registered");
      assertEquals(sb.registration.state, "registered");
      assertEquals(sa.host, "worker");
      assertEquals(await kam.contacts("alice"), 1);
    });

    let aCall = "";
    let bCall = "";
    await t.step("alice calls bob; audio flows both ways on 127.0.0.1", async () => {
      const placed = await a.call("bob");
      aCall = placed.id;
      assertEquals(placed.direction, "outbound");
      const incoming = await b.waitForCall("incoming", "inbound");
      bCall = incoming.id;
      assertEquals(incoming.number, "alice");
      await a.waitForCall("ringing", "outbound");
      await b.run((p, id) => p.answer(id), bCall);
      await a.waitForCall("connected");
      await b.waitForCall("connected");
      const flow = await audioFlowing(a, aCall, b, bCall);
      for (const s of [flow.a, flow.b]) {
        assertEquals(s.selectedPair?.local.address, "127.0.0.1");
        assertEquals(s.selectedPair?.remote.address, "127.0.0.1");
      }
    });

    await t.step("DTMF: RFC 4733 played by alice's sender, SIP INFO received by bob", async () => {
      const via = await a.run((p, id) => p.dtmf(id, "12#"), aCall);
      assertEquals(via, { via: "rfc4733" });
      await waitFor("tones sent", async () => (await a.stats(aCall))?.dtmfSent === "12#");
      const info = await a.run((p, id) => p.dtmf(id, "5*", "info"), aCall);
      assertEquals(info, { via: "info" });
      const got = await waitFor("INFO DTMF at bob", async () => {
        const d = await b.dtmfReceived();
        return d.length >= 2 ? d : undefined;
      });
      assertEquals(got.map((e) => e.tone).join(""), "5*");
      assertEquals(got[0].callId, bCall);
    });

    await t.step("hold and unhold by re-INVITE, directions checked", async () => {
      const held = await a.run((p, id) => p.hold(id, true), aCall);
      assertEquals(held.state, "held");
      await b.waitFor((s) => s.calls.some((c) => c.remoteHeld));
      const sa = await waitFor("alice sendonly", async () => {
        const s = await a.stats(aCall);
        return s?.directions[0] === "sendonly" ? s : undefined;
      });
      assertEquals(sa.directions, ["sendonly"]);
      assertEquals((await b.stats(bCall))?.directions, ["recvonly"]);
      // Alice hears nothing while holding; bob still receives (music-on-hold semantics).
      const before = (await a.stats(aCall))!.bytesReceived;
      await sleep(700);
      assert((await a.stats(aCall))!.bytesReceived - before < 300, "no audio to the holder");
      const resumed = await a.run((p, id) => p.hold(id, false), aCall);
      assertEquals(resumed.state, "connected");
      await waitFor("sendrecv", async () => (await a.stats(aCall))?.directions[0] === "sendrecv");
      assertEquals((await b.stats(bCall))?.directions, ["sendrecv"]);
      await audioFlowing(a, aCall, b, bCall);
    });

    await t.step("mute silences alice at bob; unmute brings her back", async () => {
      const energyGain = async () => {
        const before = (await b.stats(bCall))!.totalAudioEnergy;
        await sleep(1200);
        return (await b.stats(bCall))!.totalAudioEnergy - before;
      };
      const loud = await energyGain();
      assert(loud > 0, "bob hears alice before mute");
      const muted = await a.run((p, id) => p.mute(id, true), aCall);
      assertEquals(muted.muted, true);
      // What was already in flight and in Bob's jitter buffer plays out first (longer under load).
      await sleep(1000);
      const silent = await energyGain();
      assert(silent < loud / 20, `bob hears silence while muted (${silent} vs ${loud})`);
      await a.run((p, id) => p.mute(id, false), aCall);
      await sleep(300);
      assert((await energyGain()) > 0, "bob hears alice after unmute");
    });

    await t.step("devices: the fake microphone is listed and selectable", async () => {
      const devices = await a.run((p) =>
        p.listDevices().then((d: { microphones: { deviceId: string }[] }) =>
          d.microphones.map((m) => m.deviceId)
        )
      );
      assert(devices.length > 0, "a microphone");
      const s = await a.run(
        (p, id) => p.setDevices({ microphoneId: id, ringVolume: 0.3 }),
        devices[0],
      );
      assertEquals(s.devices, { microphoneId: devices[0], ringVolume: 0.3 });
      await audioFlowing(a, aCall, b, bCall);
    });

    await t.step(
      "bob hangs up; both journals have start, answer, end with the Call-ID",
      async () => {
        await b.run((p, id) => p.hangup(id), bCall);
        await a.waitForCall("ended");
        const ja = await waitFor("alice journal", async () => {
          const j = await a.journal();
          return j.filter((e) => e.callId === aCall).length === 3 ? j : undefined;
        });
        const entries = ja.filter((e) => e.callId === aCall);
        assertEquals(entries.map((e) => e.phase), ["start", "answer", "end"]);
        const end = entries[2];
        assertEquals(end.direction, "outbound");
        assertEquals(end.number, "bob");
        assertEquals(end.sipStatus, 200);
        assertEquals(end.reason, "remote-hangup");
        assert(end.durationSec >= 1, `duration ${end.durationSec}`);
        const jb = (await b.journal()).filter((e) => e.callId === bCall);
        assertEquals(jb.map((e) => e.phase), ["start", "answer", "end"]);
        assertEquals(jb[0].sipCallId, entries[0].sipCallId);
        assertEquals(jb[2].direction, "inbound");
        assertEquals(jb[2].reason, "local-hangup");
      },
    );

    await t.step("bob rejects with 486: alice's call ends refused with 486", async () => {
      const placed = await a.call("bob");
      const incoming = await b.waitForCall("incoming", "inbound");
      await b.run((p, id) => p.reject(id, 486), incoming.id);
      const ended = await waitFor(
        "ended",
        async () => (await a.state()).calls.find((c) => c.id === placed.id && c.state === "ended"),
      );
      assertEquals(ended.sipStatus, 486);
      assertEquals(ended.endReason, "refused");
    });

    await t.step("alice cancels before answer: bob sees a missed call (487)", async () => {
      const placed = await a.call("bob");
      const incoming = await b.waitForCall("incoming", "inbound");
      await a.waitForCall("ringing", "outbound");
      await a.run((p, id) => p.hangup(id), placed.id);
      const missed = await waitFor(
        "missed",
        async () =>
          (await b.state()).calls.find((c) => c.id === incoming.id && c.state === "ended"),
      );
      assertEquals(missed.endReason, "missed");
      assertEquals(missed.sipStatus, 487);
      const end = await waitFor(
        "journal",
        async () => (await b.journal()).find((e) => e.callId === incoming.id && e.phase === "end"),
      );
      assertEquals(end.durationSec, 0);
      assertEquals(end.sipStatus, 487);
    });

    await t.step("microphone not allowed: clear media-denied errors both ways", async () => {
      const c = await browser.newContext();
      const dave = await PhonePage.open(await c.newPage(), server.origin, "dave", {
        query: "?nomic",
      });
      await dave.register("dave", kam.wsUrl);
      const placed = await dave.call("bob");
      const failed = await waitFor(
        "ended",
        async () =>
          (await dave.state()).calls.find((x) => x.id === placed.id && x.state === "ended"),
      );
      assertEquals(failed.endReason, "media-denied");
      const out = await b.call("dave");
      const incoming = await dave.waitForCall("incoming", "inbound");
      const code = await dave.run(
        (p, id) => p.answer(id).then(() => null, (e: { code: string }) => e.code),
        incoming.id,
      );
      assertEquals(code, "media-denied");
      const refused = await waitFor(
        "bob's end",
        async () => (await b.state()).calls.find((x) => x.id === out.id && x.state === "ended"),
      );
      // SIP.js answers 480 Temporarily Unavailable when it cannot produce an answer.
      assertEquals(refused.sipStatus, 480);
      await c.close();
    });

    await t.step("a wrong password ends in a clear failed state", async () => {
      const c = await browser.newContext();
      const eve = await PhonePage.open(await c.newPage(), server.origin, "eve");
      const error = await eve.run(
        (p, a) => p.register(a).then(() => null, (e: { code: string }) => e.code),
        { wsUrl: kam.wsUrl, sipUri: "sip:eve@test.local", authUser: "eve", password: "wrong" },
      );
      assertEquals(error, "bad-credentials");
      const s = await eve.state();
      assertEquals(s.registration.state, "failed");
      assertEquals(s.registration.error?.code, "bad-credentials");
      assertEquals(await kam.contacts("eve"), 0);
      await c.close();
    });

    await t.step(
      "an unreachable server is a clear failed state, retried with backoff",
      async () => {
        const c = await browser.newContext();
        const frank = await PhonePage.open(await c.newPage(), server.origin, "frank");
        const deadPort = freePort();
        const error = await frank.run(
          (p, a) => p.register(a).then(() => null, (e: { code: string }) => e.code),
          {
            wsUrl: `ws://127.0.0.1:${deadPort}`,
            sipUri: "sip:frank@test.local",
            authUser: "frank",
            password: "secret",
          },
        );
        assertEquals(error, "unreachable");
        const s = await frank.state();
        assertEquals(s.registration.state, "failed");
        assertEquals(s.registration.error?.code, "unreachable");
        assert((s.registration.retryAt ?? 0) > Date.now() - 1000, "a retry is scheduled");
        await c.close();
      },
    );

    await t.step("unregister removes alice's contact", async () => {
      const s = await a.run((p) => p.unregister());
      assertEquals(s.registration.state, "unregistered");
      await waitFor("no contact", async () => (await kam.contacts("alice")) === 0);
    });
  },
);
