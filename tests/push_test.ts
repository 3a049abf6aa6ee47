/**
 * The push channel over HTTP: two app instances on one real PostgreSQL, the portal emulator
 * for frame authentication. A push published by the instance that got the event reaches a
 * stream connected to the other; a dropped stream resumes without losing a message; tickets
 * are single use.
 *
 * @module
 */
import { assert, assertEquals } from "./support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "./support/bitrix.ts";
import { readJson } from "./support/http.ts";
import { noPostgres, startPostgres } from "./support/postgres.ts";
import { SseReader } from "./support/sse.ts";
import { waitFor } from "./support/wait.ts";
import { t } from "../lib/shared/i18n.ts";
import { startTestApp, type TestApp } from "./support/app.ts";

const ANNA = 2;
const JOHN = 3;

const options = { ignore: noPostgres, sanitizeResources: false, sanitizeOps: false };

async function installed(h: BitrixHarness): Promise<string> {
  assertEquals((await h.install()).status, 200);
  const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
  assertEquals((await h.widget(1, { event: "UPDATECREED", ...creds })).status, 200);
  const portal = await h.app.services.portals.findByMemberId(h.portal.memberId);
  return portal!.id;
}

/** A ticket from `ticketFrom`, and the stream opened with it on `app`. */
async function openStream(
  h: BitrixHarness,
  userId: number,
  app: TestApp,
  init: { ticketFrom?: TestApp; lastEventId?: string } = {},
): Promise<{ response: Response; reader: SseReader }> {
  const ticket = await readJson<{ url: string; expiresIn: number }>(
    await h.pushTicket(userId, (init.ticketFrom ?? app).url),
  );
  assertEquals(ticket.status, 200);
  assertEquals(ticket.body.expiresIn, 60);
  assert(ticket.body.url.startsWith("/api/push/stream?ticket="));
  const response = await fetch(`${app.url}${ticket.body.url}`, {
    headers: init.lastEventId ? { "last-event-id": init.lastEventId } : {},
  });
  return { response, reader: new SseReader(response.body!) };
}

const payload = (item: { id?: string; data: string }) => ({
  id: item.id,
  ...JSON.parse(item.data),
});

Deno.test({
  name: "[push] a push published on instance A reaches the phone's stream on instance B",
  ...options,
  async fn() {
    await using pg = await startPostgres();
    await using h = await startBitrixHarness({ databaseUrl: pg.url });
    const portalId = await installed(h);
    await using b = await h.anotherInstance();
    const a = h.app;

    // The ticket comes from A (the frame's POST), the stream is held by B.
    const { response, reader } = await openStream(h, ANNA, b, { ticketFrom: a });
    assertEquals(response.status, 200);
    assertEquals(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assertEquals(response.headers.get("x-accel-buffering"), "no");
    assertEquals(response.headers.get("cache-control"), "no-store");
    assertEquals(await reader.next(), { kind: "retry", ms: 3000 });
    assertEquals(await reader.next(), { kind: "comment", text: "ok" });

    // A knows Anna's phone is online although it is connected to B; John's is not.
    await waitFor("Anna online on A", () => a.services.push.isOnline(portalId, ANNA));
    assertEquals(await a.services.push.isOnline(portalId, JOHN), false);
    assertEquals(await a.services.push.onlineUsers(portalId), [ANNA]);

    const started = performance.now();
    const id = await a.services.push.publish(portalId, ANNA, "note", { text: "привет" });
    const got = await reader.nextEvent();
    assertEquals(payload(got), { id: String(id), type: "note", data: { text: "привет" } });
    assert(performance.now() - started < 2000);
    // John's messages never reach Anna's stream.
    await a.services.push.publish(portalId, JOHN, "note", { text: "for John" });
    const next = await a.services.push.publish(portalId, ANNA, "note", { text: "second" });
    assertEquals(payload(await reader.nextEvent()).id, String(next));

    // B's metrics count its stream and what it sent; A's what it published.
    const metricsOf = async (app: TestApp) => await (await fetch(`${app.url}/metrics`)).text();
    const onB = await metricsOf(b);
    assert(onB.includes("\npush_streams 1\n"), onB);
    assert(onB.includes("\npush_delivered_total 2\n"), onB);
    assert(onB.includes("\npush_listening 1\n"), onB);
    assert((await metricsOf(a)).includes("\npush_published_total 3\n"));

    await reader.cancel();
    await waitFor(
      "Anna offline on A",
      async () => !(await a.services.push.isOnline(portalId, ANNA)),
    );
  },
});

Deno.test({
  name: "[push] a dropped stream resumes with Last-Event-ID on the other instance, losing nothing",
  ...options,
  async fn() {
    await using pg = await startPostgres();
    await using h = await startBitrixHarness({ databaseUrl: pg.url });
    const portalId = await installed(h);
    await using b = await h.anotherInstance();
    const a = h.app;

    const first = await openStream(h, ANNA, a);
    await a.services.push.publish(portalId, ANNA, "note", { n: 1 });
    const one = await first.reader.nextEvent();
    assertEquals(payload(one).data, { n: 1 });
    await first.reader.cancel(); // the connection drops
    await waitFor("the stream closed", () => a.services.push.streamCount === 0);

    // Published while no stream is open, from either instance.
    await a.services.push.publish(portalId, ANNA, "note", { n: 2 });
    await b.services.push.publish(portalId, ANNA, "note", { n: 3 });

    const resumed = await openStream(h, ANNA, b, { lastEventId: one.id });
    assertEquals(resumed.response.status, 200);
    assertEquals(payload(await resumed.reader.nextEvent()).data, { n: 2 });
    assertEquals(payload(await resumed.reader.nextEvent()).data, { n: 3 });
    // And live again, once each.
    await a.services.push.publish(portalId, ANNA, "note", { n: 4 });
    assertEquals(payload(await resumed.reader.nextEvent()).data, { n: 4 });
    assertEquals(await resumed.reader.nextEvent(500).catch(() => "nothing more"), "nothing more");
    await resumed.reader.cancel();

    // A client that reconnects by itself sends the id in the query instead (no headers).
    await a.services.push.publish(portalId, ANNA, "note", { n: 5 });
    const ticket = await readJson<{ url: string }>(await h.pushTicket(ANNA));
    const res = await fetch(`${b.url}${ticket.body.url}&lastEventId=3`);
    const reader = new SseReader(res.body!);
    assertEquals(payload(await reader.nextEvent()).data, { n: 4 });
    assertEquals(payload(await reader.nextEvent()).data, { n: 5 });
    await reader.cancel();
  },
});

Deno.test({
  name: "[push] 401 without a ticket, with a bad, reused or expired one, and for the ticket " +
    "without frame credentials; 400 for a bad Last-Event-ID",
  ...options,
  async fn() {
    await using pg = await startPostgres();
    await using h = await startBitrixHarness({ databaseUrl: pg.url });
    await installed(h);
    await using b = await h.anotherInstance();
    const { url } = h.app;

    const unauthorized = async (res: Response) => {
      const answer = await readJson(res);
      assertEquals(answer.status, 401);
      assertEquals(answer.body.error.code, "unauthorized");
      assert(!res.headers.get("content-type")?.includes("event-stream"));
    };
    await unauthorized(await fetch(`${url}/api/push/stream`));
    await unauthorized(await fetch(`${url}/api/push/stream?ticket=`));
    await unauthorized(await fetch(`${url}/api/push/stream?ticket=${"A".repeat(43)}`));
    await unauthorized(await fetch(`${url}/api/push/stream?ticket=%27%20or%201=1--`));
    // A ticket needs the frame's credentials.
    await unauthorized(await fetch(`${url}/api/push/ticket`, { method: "POST" }));
    await unauthorized(
      await fetch(`${url}/api/push/ticket`, {
        method: "POST",
        headers: { authorization: "Bearer forged", "x-member-id": h.portal.memberId },
      }),
    );
    // Reused: the second use fails on either instance.
    const { body } = await readJson<{ url: string }>(await h.pushTicket(ANNA));
    const ok = await fetch(`${url}${body.url}`);
    assertEquals(ok.status, 200);
    await ok.body!.cancel();
    await unauthorized(await fetch(`${url}${body.url}`));
    await unauthorized(await fetch(`${b.url}${body.url}`));
    // A bad resume id of an authenticated stream: 400, and the ticket is spent.
    const again = await readJson<{ url: string }>(await h.pushTicket(ANNA));
    const bad = await fetch(`${url}${again.body.url}`, { headers: { "last-event-id": "x1" } });
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
  },
});

Deno.test({
  name: "[push] a ticket expires after its life",
  ...options,
  async fn() {
    await using pg = await startPostgres();
    await using h = await startBitrixHarness({ databaseUrl: pg.url });
    await installed(h);
    // Another instance with a one-second ticket life.
    await using quick = await startTestApp({
      DATABASE_URL: pg.url,
      BITRIX_OAUTH_URL: h.portal.tokenUrl,
      BITRIX_ALLOW_INSECURE_PORTALS: "true",
    }, { push: { ticketTtlMs: 1000 } });
    const ticket = await quick.services.push.issueTicket(
      (await quick.services.portals.findByMemberId(h.portal.memberId))!.id,
      ANNA,
    );
    await new Promise((r) => setTimeout(r, 1300));
    const res = await fetch(`${quick.url}/api/push/stream?ticket=${ticket}`);
    assertEquals(res.status, 401);
    await res.body?.cancel();
  },
});

Deno.test({
  name: "[push] a mobile click-to-call goes to the user's online browser phone as a dial; " +
    "with no phone online it is finished at once with a reason",
  ...options,
  async fn() {
    await using pg = await startPostgres();
    await using h = await startBitrixHarness({ databaseUrl: pg.url });
    const portalId = await installed(h);
    await using b = await h.anotherInstance();
    const finishes = () => h.portal.records.calls("telephony.externalcall.finish");

    // Anna's phone holds its stream on B; the event reaches A.
    const { reader } = await openStream(h, ANNA, b);
    await waitFor("Anna online", () => h.app.services.push.isOnline(portalId, ANNA));
    const { callId } = await h.portal.clickToCall({
      userId: ANNA,
      phoneNumber: "8 (495) 765-43-21",
      isMobile: true,
    });
    const dial = payload(await reader.nextEvent());
    assertEquals(dial.type, "dial");
    assertEquals(dial.data, { callId, number: "+74957654321" });
    await new Promise((r) => setTimeout(r, 300));
    assertEquals(finishes().length, 0, "waits for the phone's call");
    // The phone dials it with the CALL_ID: the click-to-call's row is the one that is finished.
    const sipCallId = "mobile-1@pbx";
    const start = await h.calls(ANNA, {
      body: {
        phase: "start",
        sipCallId,
        direction: "outbound",
        number: "+74957654321",
        bitrixCallId: callId,
      },
    });
    assertEquals(start.status, 200);
    await start.body?.cancel();
    for (
      const body of [
        { phase: "answer", sipCallId },
        { phase: "end", sipCallId, sipStatus: 200, durationSec: 7 },
      ]
    ) (await h.calls(ANNA, { body })).body?.cancel();
    await waitFor("the finish", () => finishes().length === 1 || undefined, { timeoutMs: 15_000 });
    assertEquals(finishes()[0].params.CALL_ID, callId);
    assertEquals(String(finishes()[0].params.STATUS_CODE), "200");
    assertEquals(h.portal.records.calls("telephony.externalcall.register").length, 0);
    await reader.cancel();

    // John has no phone online: finished at once, not dialled, with a reason in words.
    const john = await h.portal.clickToCall({ userId: JOHN, phoneNumber: "101", isMobile: true });
    await waitFor("John's finish", () => finishes().length === 2 || undefined, {
      timeoutMs: 15_000,
    });
    const finished = finishes()[1].params;
    assertEquals([finished.CALL_ID, String(finished.STATUS_CODE)], [john.callId, "480"]);
    // (in the portal's language: the emulator's portal is Russian)
    assertEquals(finished.FAILED_REASON, t("ru", "mobileClickToCall"));
  },
});
