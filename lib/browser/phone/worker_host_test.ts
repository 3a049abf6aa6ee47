import { assertEquals } from "../../../tests/support/assert.ts";
import { sleep } from "../../../tests/support/wait.ts";
import { ACCOUNT } from "./fake_sip.ts";
import type { ClientMessage, HostMessage } from "./protocol.ts";
import { runWorkerHost, type SharedWorkerScopeLike } from "./worker_host.ts";

/** A page's end of a port to the worker host: what it sends, what it was sent. */
interface FakePage {
  send(message: ClientMessage): void;
  readonly got: HostMessage[];
}

/**
 * Runs `fn` against a worker host in this process: each page connects a real MessagePort;
 * tab locks never report a death, and the engine's console lines are kept out of the output.
 */
async function withWorkerHost(fn: (connect: () => FakePage) => Promise<void>) {
  const scope: SharedWorkerScopeLike = { onconnect: null };
  const ports: MessagePort[] = [];
  const quiet = ["debug", "info", "warn", "error"] as const;
  const saved = quiet.map((level) => console[level]);
  for (const level of quiet) console[level] = () => {};
  Object.defineProperty(navigator, "locks", {
    value: { request: () => new Promise(() => {}) },
    configurable: true,
  });
  try {
    runWorkerHost(scope);
    await fn(() => {
      const { port1, port2 } = new MessageChannel();
      ports.push(port1, port2);
      const got: HostMessage[] = [];
      port2.onmessage = (m: MessageEvent<HostMessage>) => got.push(m.data);
      scope.onconnect!(new MessageEvent("connect", { ports: [port1] }));
      return { send: (message) => port2.postMessage(message), got };
    });
  } finally {
    for (const port of ports) port.close();
    delete (navigator as { locks?: unknown }).locks;
    quiet.forEach((level, i) => console[level] = saved[i]);
  }
}

const hello = (tabId: string, scope: string): ClientMessage => ({
  t: "hello",
  tabId,
  lockName: `phone-${scope}-tab-${tabId}`,
  visible: true,
  journal: true,
  scope,
});

Deno.test("[phone] worker host: a port of another scope is refused and never heard", async () => {
  await withWorkerHost(async (connect) => {
    const a = connect();
    a.send(hello("ta", "portal-a-user-2"));
    await sleep(20);
    assertEquals(a.got.map((m) => m.t), ["welcome"]);

    const b = connect();
    b.send(hello("tb", "portal-b-user-2"));
    await sleep(20);
    assertEquals(b.got.map((m) => m.t), ["refused"]);
    // Its commands and journal subscription go nowhere: no result, no journal, no rehello.
    b.send({ t: "cmd", id: 1, command: { op: "register", account: ACCOUNT } });
    b.send({ t: "journal-sub", on: true });
    b.send({ t: "cmd", id: 2, command: { op: "snapshot" } });
    await sleep(20);
    assertEquals(b.got.map((m) => m.t), ["refused"]);

    a.send({ t: "cmd", id: 1, command: { op: "snapshot" } });
    await sleep(20);
    const result = a.got.find((m) => m.t === "result") as Extract<HostMessage, { t: "result" }>;
    const snapshot = result.value as { registration: { state: string } };
    assertEquals([result.ok, snapshot.registration.state], [true, "unregistered"]);
    a.send({ t: "bye" });
    await sleep(20);
  });
});
