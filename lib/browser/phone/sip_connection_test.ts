import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { ConnectionPhase } from "./connection_state.ts";
import { FakeClock } from "./fake_clock.ts";
import { ACCOUNT, fakeSip, settle } from "./fake_sip.ts";
import { RegistrationState } from "./registration_state.ts";
import { reconnectDelay, SipConnection } from "./sip_connection.ts";

function setup() {
  const clock = new FakeClock();
  const events: string[] = [];
  const { agents, registerers, createUserAgent, createRegisterer } = fakeSip();
  const sip = new SipConnection({
    clock,
    random: () => 0.5, // no jitter
    log: () => {},
    createUserAgent,
    createRegisterer,
    sessionDescriptionHandlerFactory: () => {
      throw new Error("no sessions in these tests");
    },
    delegate: {
      onInvite: () => events.push("invite"),
      onReconnected: () => events.push("reconnected"),
      onChange: () => {},
      endCalls: () => Promise.resolve(),
    },
  });
  return { clock, sip, agents, registerers, events };
}

const OPTIONS = { reconnectMinDelayMs: 500, reconnectMaxDelayMs: 4000 };

Deno.test("[phone] reconnectDelay doubles from the minimum, caps, jitters ±20 %", () => {
  const mid = () => 0.5;
  assertEquals([0, 1, 2, 3, 4, 10].map((a) => reconnectDelay(a, 500, 4000, mid)), [
    500,
    1000,
    2000,
    4000,
    4000,
    4000,
  ]);
  assertEquals(reconnectDelay(0, 500, 4000, () => 0), 400);
  assertEquals(reconnectDelay(0, 500, 4000, () => 0.999999), 600);
});

Deno.test("[phone] connection: an unreachable server is retried with growing delays", async () => {
  const { clock, sip, agents, registerers, events } = setup();
  let failure: unknown;
  sip.register(ACCOUNT, OPTIONS).catch((e) => (failure = e));
  await settle();
  assertEquals((failure as { code?: string })?.code, "unreachable");
  assertEquals([sip.phase, sip.connection], [ConnectionPhase.Waiting, "disconnected"]);
  assertEquals(sip.registration.state, RegistrationState.Failed);
  assertEquals(sip.registration.retryAt, clock.now() + 500);
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    delays.push(clock.pending[0]);
    clock.tick(clock.pending[0]);
    assertEquals(sip.phase, ConnectionPhase.Reconnecting);
    await settle();
  }
  assertEquals(delays, [500, 1000, 2000, 4000]);
  assertEquals(clock.pending, [4000]); // capped
  const ua = agents[0];
  ua.up = true;
  clock.tick(4000);
  await settle();
  assertEquals([sip.phase, sip.connection], [ConnectionPhase.Connected, "connected"]);
  assertEquals(sip.registration.state, RegistrationState.Registering);
  assertEquals(sip.registration.retryAt, undefined);
  assertEquals([ua.starts, ua.reconnects, registerers[0].registers], [1, 5, 1]);
  assertEquals(events, ["reconnected"]); // after a failed start, too (no call can exist yet)
  registerers[0].answer(200);
  assertEquals(sip.registration.state, RegistrationState.Registered);
  // A lost WebSocket starts again from the shortest delay.
  ua.drop();
  assertEquals([sip.phase, sip.registration.state], [
    ConnectionPhase.Waiting,
    RegistrationState.Registering,
  ]);
  assertEquals(clock.pending, [500]);
  clock.tick(500);
  await settle();
  assertEquals(sip.phase, ConnectionPhase.Connected);
  assertEquals(registerers[0].registers, 2); // re-REGISTER after the reconnect
  assertEquals(events, ["reconnected", "reconnected"]);
  await sip.unregister();
  assertEquals([sip.phase, sip.registration.state], [
    ConnectionPhase.Idle,
    RegistrationState.Unregistered,
  ]);
  assertEquals(clock.pending, []);
});

Deno.test("[phone] connection: bad credentials are final; a lost WebSocket then is Down", async () => {
  const { clock, sip, agents, registerers } = setup();
  let failure: unknown;
  const ua = () => agents[0];
  const registering = sip.register(ACCOUNT, OPTIONS).catch((e) => (failure = e));
  ua().up = true;
  await settle();
  assert(agents.length === 1);
  registerers[0].answer(403);
  await registering;
  assertEquals((failure as { code?: string })?.code, "bad-credentials");
  assertEquals(sip.phase, ConnectionPhase.Connected);
  assertEquals(clock.pending, []); // no retry
  ua().drop();
  assertEquals([sip.phase, sip.connection], [ConnectionPhase.Down, "disconnected"]);
  assertEquals(clock.pending, []);
});

Deno.test("[phone] connection: a refused REGISTER is sent again after the backoff", async () => {
  const { clock, sip, agents, registerers } = setup();
  const registering = sip.register(ACCOUNT, OPTIONS).catch((e) => e);
  agents[0].up = true;
  await settle();
  registerers[0].answer(503);
  assertEquals((await registering)?.code, "rejected");
  assertEquals([sip.phase, clock.pending], [ConnectionPhase.Connected, [500]]);
  clock.tick(500);
  await settle();
  assertEquals(sip.phase, ConnectionPhase.Connected); // the WebSocket stayed up
  assertEquals(sip.registration.state, RegistrationState.Registering);
  assertEquals([registerers[0].registers, agents[0].reconnects], [2, 0]);
  registerers[0].answer(200);
  assertEquals(sip.registration.state, RegistrationState.Registered);
});

Deno.test("[phone] connection: a new account replaces the UserAgent; the old one is ignored", async () => {
  const { clock, sip, agents, registerers } = setup();
  const first = sip.register(ACCOUNT, OPTIONS).catch((e) => e);
  agents[0].up = true;
  await settle();
  registerers[0].answer(200);
  await first;
  assertEquals(await sip.register(ACCOUNT, OPTIONS), undefined); // the same account: kept
  assertEquals(agents.length, 1);
  const second = sip.register({ ...ACCOUNT, authUser: "102" }, OPTIONS).catch((e) => e);
  await settle();
  assertEquals([agents.length, sip.phase], [2, ConnectionPhase.Connected]);
  agents[0].drop(); // a late event of the old UserAgent
  assertEquals([sip.phase, clock.pending], [ConnectionPhase.Connected, []]);
  registerers[1].answer(200);
  assertEquals(await second, undefined);
  assertEquals(sip.registration.state, RegistrationState.Registered);
});
