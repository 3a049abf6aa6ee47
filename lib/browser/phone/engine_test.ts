import { assertEquals } from "../../../tests/support/assert.ts";
import { PhoneEngine } from "./engine.ts";
import { FakeClock } from "./fake_clock.ts";
import { ACCOUNT, fakeSip, settle } from "./fake_sip.ts";
import type { HostMessage } from "./protocol.ts";

/** An engine on fakes with one tab `t1` (of `scope`) whose messages are recorded. */
function setup(scope?: string, engineScope?: string) {
  const clock = new FakeClock();
  const sip = fakeSip({ up: true });
  const engine = new PhoneEngine({
    host: "worker",
    clock,
    random: () => 0.5,
    log: () => {},
    userAgentFactory: sip.createUserAgent,
    registererFactory: sip.createRegisterer,
    scope: engineScope,
  });
  const got: HostMessage[] = [];
  engine.attachTab(
    { id: "t1", send: (m) => got.push(m) },
    { t: "hello", tabId: "t1", visible: true, journal: true, scope },
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

/** Attaches tab `id` of `scope` to `engine`; returns whether it was, and what it was sent. */
function attach(engine: PhoneEngine, id: string, scope?: string) {
  const got: HostMessage[] = [];
  const attached = engine.attachTab(
    { id, send: (m) => got.push(m) },
    { t: "hello", tabId: id, visible: true, journal: true, scope },
  );
  return { attached, got };
}

Deno.test("[phone] engine: serves the scope of its first page and refuses pages of another", async () => {
  const { engine, sip, got } = setup("portal-a-user-2");
  const same = attach(engine, "t2", "portal-a-user-2");
  assertEquals([same.attached, same.got[0].t, engine.tabCount], [true, "welcome", 2]);

  for (const scope of ["portal-b-user-2", "portal-a-user-3", undefined]) {
    const other = attach(engine, "t3", scope);
    assertEquals(other.attached, false, `scope ${scope}`);
    assertEquals(other.got.map((m) => m.t), ["refused"], "no welcome, no snapshot");
  }
  assertEquals([engine.hasTab("t3"), engine.tabCount], [false, 2]);

  // Whatever the refused page sends is not run: no registration, no journal subscription.
  engine.handle("t3", { t: "cmd", id: 1, command: { op: "register", account: ACCOUNT } });
  engine.handle("t3", { t: "journal-sub", on: true });
  engine.handle("t3", { t: "bye" });
  await settle();
  assertEquals(sip.agents.length, 0, "no UserAgent was made for the refused page");
  assertEquals(engine.tabCount, 2, "its bye detached nobody");
  assertEquals(got.filter((m) => m.t === "result"), []);
});

Deno.test("[phone] engine: given its scope, it refuses even the first page of another", () => {
  const { engine, got } = setup(undefined, "portal-a-user-2");
  assertEquals([got.map((m) => m.t), engine.tabCount], [["refused"], 0]);
  const own = attach(engine, "t2", "portal-a-user-2");
  assertEquals([own.attached, own.got[0].t], [true, "welcome"]);
});
