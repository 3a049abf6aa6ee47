import { assertEquals } from "../../../tests/support/assert.ts";
import { PhoneEngine } from "./engine.ts";
import { FakeClock } from "./fake_clock.ts";
import { ACCOUNT, fakeSip, settle } from "./fake_sip.ts";
import type { HostMessage } from "./protocol.ts";

/** An engine on fakes with one tab `t1` whose messages are recorded. */
function setup() {
  const clock = new FakeClock();
  const sip = fakeSip({ up: true });
  const engine = new PhoneEngine({
    host: "worker",
    clock,
    random: () => 0.5,
    log: () => {},
    userAgentFactory: sip.createUserAgent,
    registererFactory: sip.createRegisterer,
  });
  const got: HostMessage[] = [];
  engine.attachTab(
    { id: "t1", send: (m) => got.push(m) },
    { t: "hello", tabId: "t1", visible: true, journal: true },
  );
  const result = (id: number) => got.find((m) => m.t === "result" && m.id === id);
  const lastSnapshot = () => got.findLast((m) => m.t === "snapshot");
  return { engine, sip, got, result, lastSnapshot };
}

Deno.test("[phone] engine: a tab registers through the protocol and sees the snapshots", async () => {
  const { engine, sip, got, result, lastSnapshot } = setup();
  assertEquals(got[0].t, "welcome");
  engine.handle("t1", { t: "cmd", id: 1, command: { op: "register", account: ACCOUNT } });
  await settle();
  assertEquals(result(1), undefined); // waiting for the REGISTER's answer
  sip.registerers[0].answer(200);
  await settle();
  const reply = result(1) as Extract<HostMessage, { t: "result" }>;
  const registered = reply.value as ReturnType<PhoneEngine["snapshot"]>;
  assertEquals([reply.ok, registered.registration.state, registered.connection], [
    true,
    "registered",
    "connected",
  ]);
  const snapshot = lastSnapshot() as Extract<HostMessage, { t: "snapshot" }>;
  assertEquals(snapshot.snapshot.registration.sipUri, ACCOUNT.sipUri);
  engine.handle("t1", { t: "cmd", id: 2, command: { op: "hangup", callId: "nope" } });
  await settle();
  assertEquals((result(2) as Extract<HostMessage, { t: "result" }>).error?.code, "no-such-call");
  engine.handle("t1", { t: "sound", allowed: false });
  await settle();
  const muted = lastSnapshot() as Extract<HostMessage, { t: "snapshot" }>;
  assertEquals(muted.snapshot.canPlaySound, false);
});

Deno.test("[phone] engine: the last tab leaving unregisters", async () => {
  const { engine, sip } = setup();
  const registered = engine.register(ACCOUNT);
  await settle();
  sip.registerers[0].answer(200);
  await registered;
  engine.detachTab("t1", "closed");
  await settle();
  assertEquals([engine.tabCount, engine.snapshot().registration.state], [0, "unregistered"]);
  assertEquals(engine.snapshot().connection, "disconnected");
});
