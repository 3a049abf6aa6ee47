/**
 * Three parties through Kamailio: blind transfer (REFER), attended transfer (REFER with
 * Replaces) and call waiting (reject the second call, or hold the first and answer).
 */
import { assertEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import {
  audioFlowing,
  phoneBundles,
  PhonePage,
  type PhonePage as Phone,
  startPageServer,
} from "./harness.ts";
import { phoneTest } from "./gate.ts";
import { waitFor } from "../support/wait.ts";

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

phoneTest("[phone] blind transfer, attended transfer, call waiting", async (t) => {
  await using kam = await startKamailio();
  await using server = startPageServer(await phoneBundles());
  await using browser = await launchChromium();
  const open = async (user: string) => {
    const page = await (await browser.newContext()).newPage();
    const phone = await PhonePage.open(page, server.origin, user);
    await phone.register(user, kam.wsUrl);
    return phone;
  };
  const a = await open("alice");
  const b = await open("bob");
  const c = await open("carol");

  await t.step("blind: alice calls bob, bob transfers alice to carol", async () => {
    const ab = await connected(a, b, "bob");
    await b.run((p, id) => p.transfer(id, "carol"), ab.in);
    const ringing = await c.waitForCall("incoming", "inbound");
    assertEquals(ringing.number, "alice");
    await c.run((p, id) => p.answer(id), ringing.id);
    const ac = await waitFor(
      "alice connected to carol",
      async () =>
        (await a.state()).calls.find((x) => x.state === "connected" && x.number === "carol"),
    );
    assertEquals(ac.referredBy, ab.out);
    await audioFlowing(a, ac.id, c, ringing.id);
    const bobEnd = await waitFor(
      "bob's leg ended",
      async () => (await b.state()).calls.find((x) => x.id === ab.in && x.state === "ended"),
    );
    assertEquals(bobEnd.endReason, "transferred");
    await c.run((p, id) => p.hangup(id), ringing.id);
    await idle(a, b, c);
  });

  await t.step("attended: alice holds bob, consults carol, joins bob and carol", async () => {
    const ab = await connected(a, b, "bob");
    await a.run((p, id) => p.hold(id, true), ab.out);
    const ac = await connected(a, c, "carol");
    await a.run((p, x) => p.attendedTransfer(x.from, x.to), { from: ab.out, to: ac.out });
    await idle(a);
    const aCalls = (await a.state()).calls;
    assertEquals(aCalls.find((x) => x.id === ab.out)?.endReason, "transferred");
    // Bob now talks to carol on a new dialog that replaced carol's call with alice.
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
    assertEquals(
      (await c.state()).calls.find((x) => x.id === ac.in)?.endReason,
      "replaced",
    );
    await audioFlowing(b, bc.id, c, cb.id);
    await b.run((p, id) => p.hangup(id), bc.id);
    await idle(a, b, c);
  });

  await t.step("call waiting: reject the second call, then hold and answer", async () => {
    const ab = await connected(a, b, "bob");
    const first = await c.call("alice");
    const waiting = await a.waitForCall("incoming", "inbound");
    await a.run((p, id) => p.reject(id, 486), waiting.id);
    const refused = await waitFor(
      "carol refused",
      async () => (await c.state()).calls.find((x) => x.id === first.id && x.state === "ended"),
    );
    assertEquals(refused.sipStatus, 486);
    assertEquals((await a.state()).calls.find((x) => x.id === ab.out)?.state, "connected");

    const second = await c.call("alice");
    const waiting2 = await waitFor(
      "second waiting call",
      async () =>
        (await a.state()).calls.find((x) =>
          x.state === "incoming" && x.sipCallId === second.sipCallId
        ),
    );
    await a.run((p, id) => p.answer(id), waiting2.id);
    const s = await a.waitFor((s) =>
      s.calls.some((x) => x.state === "held") && s.calls.some((x) => x.state === "connected")
    );
    assertEquals(s.calls.find((x) => x.id === ab.out)?.state, "held");
    const cIn = await waitFor(
      "carol connected",
      async () =>
        (await c.state()).calls.find((x) => x.id === second.id && x.state === "connected"),
    );
    await audioFlowing(a, waiting2.id, c, cIn.id);
    await a.run((p, id) => p.hangup(id), waiting2.id);
    await a.run((p, id) => p.hold(id, false), ab.out);
    await audioFlowing(a, ab.out, b, ab.in);
    await a.run((p, id) => p.hangup(id), ab.out);
    await idle(a, b, c);
  });
});
