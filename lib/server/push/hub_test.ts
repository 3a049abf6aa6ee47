import "../../../tests/support/logs.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertThrows,
} from "../../../tests/support/assert.ts";
import { testBothEngines } from "../../../tests/support/db.ts";
import { SseReader } from "../../../tests/support/sse.ts";
import { waitFor } from "../../../tests/support/wait.ts";
import type { Database } from "../db/client.ts";
import { PortalRepo } from "../db/portals.ts";
import type { SecretBox } from "../secrets/crypto.ts";
import { RateLimitedError } from "../errors.ts";
import { PushHub, type PushHubOptions } from "./hub.ts";

async function portalId(database: Database, box: SecretBox, memberId = "m-push"): Promise<string> {
  const { portal } = await new PortalRepo(database.db, box).upsertInstall({
    memberId,
    domain: "acme.bitrix24.ru",
    clientEndpoint: "https://acme.bitrix24.ru/rest/",
    serverEndpoint: "https://oauth.bitrix.info/rest/",
    tokens: { accessToken: "a", refreshToken: "r", expiresAt: new Date(Date.now() + 3600_000) },
    installedByUserId: 1,
  });
  return portal.id;
}

async function startedHub(
  database: Pick<Database, "db" | "listen">,
  options: PushHubOptions = {},
): Promise<PushHub & AsyncDisposable> {
  const hub = new PushHub(database, { heartbeatMs: 200, ...options });
  await hub.start();
  return Object.assign(hub, { [Symbol.asyncDispose]: () => hub.stop() });
}

const event = (item: { id?: string; data: string }) => ({
  id: item.id,
  ...JSON.parse(item.data),
});

testBothEngines(
  "[push] NOTIFY delivers a published message to the user's streams on every hub, once, in order",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    // Two hubs on one database are two app instances: the message goes through NOTIFY.
    await using a = await startedHub(database);
    await using b = await startedHub(database);
    const onB = new SseReader(b.openStream(portal, 7).body);
    const onA = new SseReader(a.openStream(portal, 7).body);
    const colleague = new SseReader(b.openStream(portal, 8).body);
    // The stream starts with its reconnect delay and a comment that flushes the headers.
    assertEquals(await onB.next(), { kind: "retry", ms: 3000 });
    assertEquals(await onB.next(), { kind: "comment", text: "ok" });
    await waitFor("user 7 online", () => a.isOnline(portal, 7), { timeoutMs: 2000 });

    assertEquals(await a.publish(portal, 7, "note", { text: "one" }), 1);
    assertEquals(await a.publish(portal, 7, "note", { text: "two" }), 2);
    assertEquals(event(await onB.nextEvent()), { id: "1", type: "note", data: { text: "one" } });
    assertEquals(event(await onB.nextEvent()), { id: "2", type: "note", data: { text: "two" } });
    assertEquals(event(await onA.nextEvent()), { id: "1", type: "note", data: { text: "one" } });
    assertEquals(event(await onA.nextEvent()), { id: "2", type: "note", data: { text: "two" } });
    // Another user's stream gets nothing but heartbeats.
    assertEquals(await colleague.nextEvent(500).catch(() => "nothing"), "nothing");
    assertEquals(b.counters.delivered, 2);
    await Promise.all([onA.cancel(), onB.cancel(), colleague.cancel()]);
  },
);

testBothEngines(
  "[push] a stream resumed with Last-Event-ID replays what it missed, in order, without repeats",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    await using hub = await startedHub(database);
    const first = new SseReader(hub.openStream(portal, 7).body);
    await hub.publish(portal, 7, "note", { n: 1 });
    assertEquals(event(await first.nextEvent()).id, "1");
    await first.cancel(); // the connection drops
    await waitFor("the stream closed", () => hub.streamCount === 0, { timeoutMs: 2000 });
    for (let n = 2; n <= 4; n++) await hub.publish(portal, 7, "note", { n });

    const resumed = new SseReader(hub.openStream(portal, 7, 1).body);
    assertEquals((await resumed.nextEvent()).id, "2");
    assertEquals((await resumed.nextEvent()).id, "3");
    assertEquals((await resumed.nextEvent()).id, "4");
    await hub.publish(portal, 7, "note", { n: 5 });
    assertEquals(event(await resumed.nextEvent()), { id: "5", type: "note", data: { n: 5 } });
    await resumed.cancel();

    // Without Last-Event-ID a stream starts from now; an id ahead of the counter, too.
    const fresh = new SseReader(hub.openStream(portal, 7).body);
    const ahead = new SseReader(hub.openStream(portal, 7, 99).body);
    await hub.publish(portal, 7, "note", { n: 6 });
    assertEquals((await fresh.nextEvent()).id, "6");
    assertEquals((await ahead.nextEvent()).id, "6");
    await Promise.all([fresh.cancel(), ahead.cancel()]);
  },
);

testBothEngines(
  "[push] expired messages are not replayed and are pruned",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    await using hub = await startedHub(database, { pruneMs: 100 });
    await hub.publish(portal, 7, "note", { n: 1 }, { ttlMs: 1000 });
    await hub.publish(portal, 7, "note", { n: 2 }, { ttlMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1300));
    const resumed = new SseReader(hub.openStream(portal, 7, 0).body);
    assertEquals(event(await resumed.nextEvent()), { id: "2", type: "note", data: { n: 2 } });
    await resumed.cancel();
  },
);

testBothEngines(
  "[push] tickets: single use, bound to the user, expire; issuing is limited per user",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    await using hub = await startedHub(database, { ticketTtlMs: 1000 });
    const ticket = await hub.issueTicket(portal, 7);
    assert(/^[A-Za-z0-9_-]{43}$/.test(ticket));
    assertEquals(await hub.redeemTicket(ticket), { portalId: portal, userId: 7 });
    assertEquals(await hub.redeemTicket(ticket), undefined); // used
    assertEquals(await hub.redeemTicket("x".repeat(43)), undefined); // unknown
    assertEquals(await hub.redeemTicket("' or 1=1 --"), undefined); // not a ticket
    const late = await hub.issueTicket(portal, 7);
    await new Promise((r) => setTimeout(r, 1200));
    assertEquals(await hub.redeemTicket(late), undefined); // expired
    // Concurrent redeems of one ticket: exactly one wins.
    const raced = await hub.issueTicket(portal, 7);
    const wins = await Promise.all([hub.redeemTicket(raced), hub.redeemTicket(raced)]);
    assertEquals(wins.filter(Boolean).length, 1);
    await assertRejects(async () => {
      for (let i = 0; i < 30; i++) await hub.issueTicket(portal, 9);
    }, RateLimitedError);
  },
);

testBothEngines(
  "[push] presence: online across hubs while a stream is open, offline after it closes",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    await using a = await startedHub(database);
    await using b = await startedHub(database, { maxStreamsPerUser: 2 });
    assertEquals(await a.isOnline(portal, 7), false);
    const one = b.openStream(portal, 7);
    const two = b.openStream(portal, 7);
    assertThrows(() => b.openStream(portal, 7), "too many push streams");
    await waitFor("user 7 online", () => a.isOnline(portal, 7), { timeoutMs: 2000 });
    assertEquals(await a.onlineUsers(portal), [7]);
    one.close();
    assertEquals(await b.isOnline(portal, 7), true);
    two.close();
    await waitFor("user 7 offline", async () => !(await a.isOnline(portal, 7)), {
      timeoutMs: 2000,
    });
    assertEquals(await a.onlineUsers(portal), []);
  },
);

testBothEngines(
  "[push] heartbeats every interval; a stream is ended after its longest life",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    await using hub = await startedHub(database, { heartbeatMs: 100, maxStreamMs: 450 });
    const reader = new SseReader(hub.openStream(portal, 7).body);
    await reader.next(); // retry
    await reader.next(); // ok
    assertEquals(await reader.next(1000), { kind: "comment", text: "hb" });
    await reader.ended(2000);
    assertEquals(hub.streamCount, 0);
  },
);

testBothEngines(
  "[push] when the listen goes deaf the hub listens again and streams catch up from the table",
  async ({ database, box }) => {
    const portal = await portalId(database, box);
    let deaf = false;
    // A listen whose connection silently stopped hearing (no error, no onListen).
    const flaky: Pick<Database, "db" | "listen"> = {
      db: database.db,
      listen: (channel, onPayload, onListen) =>
        database.listen(channel, (p) => deaf || onPayload(p), onListen),
    };
    await using hub = await startedHub(flaky, { heartbeatMs: 150 });
    const reader = new SseReader(hub.openStream(portal, 7).body);
    deaf = true;
    await hub.publish(portal, 7, "note", { n: 1 });
    // The notification is lost; a ping is missed, the hub listens again and the stream reads
    // what it missed from the table.
    assertEquals(event(await reader.nextEvent(3000)), { id: "1", type: "note", data: { n: 1 } });
    assert(hub.counters.relistens >= 1);
    deaf = false;
    await hub.publish(portal, 7, "note", { n: 2 });
    assertEquals((await reader.nextEvent(3000)).id, "2");
    await reader.cancel();
  },
);
