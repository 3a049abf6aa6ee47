import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { sleep } from "../../tests/support/wait.ts";
import { claim } from "./claim.ts";

/** The scope of the claiming pages' phone. */
const SCOPE = "s1";

/** Web Locks of one origin, `ifAvailable` requests only (all that `claim` asks for). */
class FakeLockManager {
  readonly held = new Set<string>();
  /** Makes every request fail with this error (a frame whose storage is blocked). */
  failWith?: Error;

  request(
    name: string,
    options: LockOptions,
    callback: (lock: Lock | null) => Promise<void> | void,
  ): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith);
    assertEquals(options, { ifAvailable: true });
    if (this.held.has(name)) return Promise.resolve(callback(null));
    this.held.add(name);
    return Promise.resolve(callback({ name, mode: "exclusive" })).finally(() =>
      this.held.delete(name)
    );
  }
}

/** BroadcastChannels of one origin: a message reaches every other open channel of its name. */
interface FakeChannels {
  readonly open: Set<FakeChannel>;
  /** Every message sent, in order. */
  readonly sent: unknown[];
}

/** The class to put in place of `BroadcastChannel`, sending on `bus`. */
function channelClassOn(bus: FakeChannels): typeof BroadcastChannel {
  return class extends FakeChannel {
    constructor(name: string) {
      super(bus, name);
    }
  } as unknown as typeof BroadcastChannel;
}

class FakeChannel {
  onmessage: ((e: MessageEvent) => void) | null = null;

  constructor(private readonly bus: FakeChannels, readonly name: string) {
    bus.open.add(this);
  }

  postMessage(data: unknown): void {
    this.bus.sent.push(data);
    for (const other of this.bus.open) {
      if (other !== this && other.name === this.name) {
        // Delivered asynchronously, as a real channel does.
        queueMicrotask(() => other.onmessage?.(new MessageEvent("message", { data })));
      }
    }
  }

  close(): void {
    this.bus.open.delete(this);
  }
}

/** Runs `fn` with `navigator.locks` replaced (undefined: a browser without Web Locks). */
async function withLocks(locks: FakeLockManager | undefined, fn: () => Promise<void>) {
  Object.defineProperty(navigator, "locks", { value: locks, configurable: true });
  try {
    await fn();
  } finally {
    delete (navigator as { locks?: unknown }).locks;
  }
}

/** Runs `fn` with `BroadcastChannel` replaced and `Math.random` drawing from `tickets`. */
async function withChannels(
  tickets: number[],
  fn: (channels: FakeChannels) => Promise<void>,
): Promise<void> {
  const channels: FakeChannels = { open: new Set(), sent: [] };
  const { BroadcastChannel: original } = globalThis;
  const random = Math.random;
  globalThis.BroadcastChannel = channelClassOn(channels);
  Math.random = () => tickets.shift() ?? random();
  try {
    await fn(channels);
  } finally {
    globalThis.BroadcastChannel = original;
    Math.random = random;
    for (const channel of channels.open) channel.close();
  }
}

Deno.test("[claim] Web Locks: one holder per key until it releases", async () => {
  const locks = new FakeLockManager();
  await withLocks(locks, async () => {
    const first = await claim(SCOPE, "dial:1");
    assert(first, "the first page gets the claim");
    assertEquals([...locks.held], ["claim:s1:dial:1"]);
    assertEquals(await claim(SCOPE, "dial:1"), undefined, "a second page does not");
    const other = await claim(SCOPE, "dial:2");
    assert(other, "another key is claimed on its own");

    first();
    await Promise.resolve();
    assertEquals([...locks.held], ["claim:s1:dial:2"]);
    const again = await claim(SCOPE, "dial:1");
    assert(again, "released, the key can be claimed again");
    again();
    other();
  });
});

Deno.test("[claim] Web Locks failing with an error other than SecurityError: the error", async () => {
  const locks = new FakeLockManager();
  locks.failWith = new TypeError("broken");
  await withLocks(locks, async () => {
    await withChannels([], async (channels) => {
      await assertRejects(() => claim(SCOPE, "dial:1"), TypeError, "broken");
      assertEquals(channels.sent, [], "no election was held");
    });
  });
});

for (
  const [why, locks] of [
    ["Web Locks throw SecurityError (storage blocked)", () => {
      const locks = new FakeLockManager();
      locks.failWith = new DOMException("blocked", "SecurityError");
      return locks;
    }],
    ["no Web Locks", () => undefined],
  ] as const
) {
  Deno.test(`[claim] ${why}: an election over BroadcastChannel`, async () => {
    await withLocks(locks(), async () => {
      await withChannels([0.5], async (channels) => {
        const release = await claim(SCOPE, "dial:1");
        assert(release, "the only claimant wins");
        assertEquals(channels.sent, [{ key: "dial:1", type: "claim", ticket: 0.5 }]);
        release();
        assertEquals(channels.open.size, 0, "releasing closes the channel");
      });
    });
  });
}

Deno.test("[claim] election: a page that claims a moment later learns of a lower ticket", async () => {
  await withLocks(undefined, async () => {
    await withChannels([0.3, 0.6], async () => {
      const first = claim(SCOPE, "dial:1");
      await sleep(20); // the second page opens its channel after the first one's claim was sent
      const second = claim(SCOPE, "dial:1");
      const [a, b] = await Promise.all([first, second]);
      assert(a, "the lower ticket wins");
      assertEquals(b, undefined, "the later page with the higher ticket does not");
      a();
    });
  });
});

Deno.test("[claim] election: of pages claiming at once the lowest ticket wins", async () => {
  await withLocks(undefined, async () => {
    await withChannels([0.7, 0.2, 0.9], async () => {
      const results = await Promise.all([
        claim(SCOPE, "dial:1"),
        claim(SCOPE, "dial:1"),
        claim(SCOPE, "dial:1"),
      ]);
      assertEquals(results.map((r) => typeof r), ["undefined", "function", "undefined"]);
      results[1]!();
    });
  });
});

Deno.test("[claim] election: the winner answers later claimants that the key is held", async () => {
  await withLocks(undefined, async () => {
    await withChannels([0.9, 0.1, 0.3], async (channels) => {
      const winner = await claim(SCOPE, "dial:1");
      assert(winner);
      // A later claimant with a lower ticket still loses: the key is held.
      assertEquals(await claim(SCOPE, "dial:1"), undefined);
      assert(channels.sent.some((m) => (m as { type: string }).type === "held"));
      // Another key is not held.
      const other = await claim(SCOPE, "dial:2");
      assert(other);

      winner();
      other();
      const next = await claim(SCOPE, "dial:1");
      assert(next, "released, the next claimant wins");
      next();
    });
  });
});

Deno.test("[claim] pages of another scope (portal or user) claim the same key apart", async () => {
  const locks = new FakeLockManager();
  await withLocks(locks, async () => {
    const mine = await claim(SCOPE, "dial:1");
    const theirs = await claim("s2", "dial:1");
    assert(mine && theirs, "each scope gets its own claim");
    assertEquals([...locks.held], ["claim:s1:dial:1", "claim:s2:dial:1"]);
    mine();
    theirs();
  });
  await withLocks(undefined, async () => {
    await withChannels([0.2, 0.1], async (channels) => {
      const [mine, theirs] = await Promise.all([claim(SCOPE, "dial:1"), claim("s2", "dial:1")]);
      assert(mine && theirs, "elections of two scopes do not meet");
      assertEquals([...channels.open].map((c) => c.name).sort(), [
        "b24-sip-claims-s1",
        "b24-sip-claims-s2",
      ]);
      mine();
      theirs();
    });
  });
});
