import { assertEquals } from "../../../tests/support/assert.ts";
import { PhoneEngine } from "./engine.ts";
import { FakeClock } from "./fake_clock.ts";
import { fakeSip, settle } from "./fake_sip.ts";
import type { EventSourceLike } from "./push_channel.ts";
import type { HostMessage } from "./protocol.ts";

/** A stream the test drives: open, messages, errors. */
class FakeSource implements EventSourceLike {
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: { data: string; lastEventId: string }) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.onopen?.(new Event("open"));
  }
  send(id: number, type: string, data: Record<string, unknown>) {
    this.onmessage?.({ lastEventId: String(id), data: JSON.stringify({ type, data }) });
  }
  fail() {
    this.onerror?.(new Event("error"));
  }
  close() {
    this.closed = true;
  }
}

function setup() {
  const clock = new FakeClock();
  const sip = fakeSip({ up: true });
  const sources: FakeSource[] = [];
  const engine = new PhoneEngine({
    host: "worker",
    clock,
    random: () => 0.5,
    log: () => {},
    userAgentFactory: sip.createUserAgent,
    registererFactory: sip.createRegisterer,
    openPushStream: (url) => {
      const source = new FakeSource(url);
      sources.push(source);
      return source;
    },
  });
  const tabs = new Map<string, HostMessage[]>();
  const attach = (id: string, push: boolean) => {
    const got: HostMessage[] = [];
    tabs.set(id, got);
    engine.attachTab(
      { id, send: (m) => got.push(m) },
      { t: "hello", tabId: id, visible: true, journal: false, push },
    );
    return got;
  };
  const ticketRequests = (id: string) =>
    tabs.get(id)!.filter((m): m is Extract<HostMessage, { t: "push-ticket" }> =>
      m.t === "push-ticket"
    );
  const answer = (tab: string, url: string) => {
    const request = ticketRequests(tab).at(-1)!;
    engine.handle(tab, { t: "push-ticket-result", id: request.id, ok: true, url });
  };
  const pushes = (id: string) =>
    tabs.get(id)!.flatMap((m) => m.t === "push" ? [[m.event.id, m.event.data]] : []);
  return { engine, clock, sources, attach, ticketRequests, answer, pushes };
}

Deno.test("[phone] push: one stream for every tab, opened with a page's ticket", async () => {
  const { engine, sources, attach, ticketRequests, answer, pushes } = setup();
  attach("t1", false);
  assertEquals(engine.snapshot().push?.state, "off"); // nobody can get a ticket
  attach("t2", true);
  attach("t3", true);
  assertEquals(ticketRequests("t2").length, 1, "the first subscribed page is asked");
  assertEquals(ticketRequests("t3").length, 0);
  answer("t2", "https://app.example/api/push/stream?ticket=T1");
  assertEquals(sources.map((s) => s.url), ["https://app.example/api/push/stream?ticket=T1"]);
  assertEquals(engine.snapshot().push?.state, "connecting");
  sources[0].open();
  assertEquals(engine.snapshot().push?.state, "open");

  sources[0].send(1, "note", { n: 1 });
  sources[0].send(2, "note", { n: 2 });
  sources[0].send(2, "note", { n: 2 }); // a repeat is dropped
  await settle();
  for (const tab of ["t1", "t2", "t3"]) {
    assertEquals(pushes(tab), [[1, { n: 1 }], [2, { n: 2 }]], tab);
  }
  assertEquals(engine.snapshot().push?.lastEventId, 2);
  assertEquals(sources.length, 1, "still one stream");
});

Deno.test("[phone] push: a drop reconnects with a new ticket and the last id, with backoff", () => {
  const { engine, clock, sources, attach, ticketRequests, answer, pushes } = setup();
  attach("t1", true);
  answer("t1", "/api/push/stream?ticket=T1");
  sources[0].open();
  sources[0].send(5, "note", {});
  sources[0].fail(); // dropped
  assertEquals(sources[0].closed, true, "EventSource's own retry (a used ticket) is not used");
  assertEquals(engine.snapshot().push?.state, "waiting");
  clock.tick(749);
  assertEquals(ticketRequests("t1").length, 1);
  clock.tick(1); // 1 s × (0.5 + 0.5 / 2)
  assertEquals(ticketRequests("t1").length, 2);
  answer("t1", "/api/push/stream?ticket=T2");
  assertEquals(sources[1].url, "/api/push/stream?ticket=T2&lastEventId=5");
  // Refused (a used or expired ticket): the delay doubles; after an open it starts again.
  sources[1].fail();
  clock.tick(1499);
  assertEquals(ticketRequests("t1").length, 2);
  clock.tick(1);
  assertEquals(ticketRequests("t1").length, 3);
  answer("t1", "/api/push/stream?ticket=T3");
  sources[2].open();
  sources[2].send(6, "note", {});
  sources[2].fail();
  clock.tick(750);
  assertEquals(ticketRequests("t1").length, 4);
  assertEquals(pushes("t1").map(([id]) => id), [5, 6]);
});

Deno.test("[phone] push: a page that does not answer is replaced; the last one leaving closes it", () => {
  const { engine, clock, sources, attach, ticketRequests, answer } = setup();
  attach("t1", true);
  attach("t2", true);
  clock.tick(10_000); // t1 never answers
  assertEquals(engine.snapshot().push?.state, "waiting");
  clock.tick(750);
  // t1 is still the first subscribed page; it leaves while asked, t2 is asked at once.
  assertEquals(ticketRequests("t1").length, 2);
  engine.detachTab("t1", "closed");
  assertEquals(ticketRequests("t2").length, 1);
  answer("t2", "/s?ticket=T");
  sources[0].open();
  // The page unsubscribes: no one can renew the stream, it closes.
  engine.handle("t2", { t: "push-sub", on: false });
  assertEquals([sources[0].closed, engine.snapshot().push?.state], [true, "off"]);
  // A page that answers with an error: retried later.
  engine.handle("t2", { t: "push-sub", on: true });
  const request = ticketRequests("t2").at(-1)!;
  engine.handle("t2", { t: "push-ticket-result", id: request.id, ok: false, error: "401" });
  assertEquals(engine.snapshot().push?.state, "waiting");
  engine.detachTab("t2", "closed");
  assertEquals(engine.snapshot().push?.state, "off");
  clock.tick(60_000);
  assertEquals(sources.length, 1, "nothing opened without a page");
});

Deno.test("[phone] push: a new engine resumes after the last id its pages got", () => {
  // A host taken over: the new engine saw nothing, the pages say what they got.
  const { engine, sources, attach, answer } = setup();
  engine.attachTab(
    { id: "t9", send: () => {} },
    { t: "hello", tabId: "t9", visible: true, journal: false, pushLastEventId: 41 },
  );
  attach("t1", true);
  answer("t1", "/s?ticket=T");
  assertEquals(sources[0].url, "/s?ticket=T&lastEventId=41");
});
