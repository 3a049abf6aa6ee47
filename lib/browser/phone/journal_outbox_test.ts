import { assertEquals } from "../../../tests/support/assert.ts";
import { CallState } from "./call_state.ts";
import { FakeClock } from "./fake_clock.ts";
import {
  JOURNAL_RETRY_MS,
  JournalDelivery,
  journalEntry,
  JournalOutbox,
} from "./journal_outbox.ts";
import type { HostMessage } from "./protocol.ts";
import type { CallInfo, JournalEntry } from "./types.ts";

/** Tabs where the test picks the reporter; every journal message is recorded as `tab:entryId`. */
function fakeTabs() {
  const sent: string[] = [];
  const tabs = {
    reporter: "a" as string | undefined,
    journalReporter: () => tabs.reporter,
    send: (tabId: string, message: HostMessage) => {
      if (message.t === "journal") sent.push(`${tabId}:${message.entry.entryId}`);
    },
  };
  return { tabs, sent };
}

function entry(id: string): JournalEntry {
  return {
    entryId: id,
    phase: "start",
    sipCallId: `sip-${id}`,
    callId: `call-${id}`,
    direction: "inbound",
    number: "101",
    at: 0,
    callStartedAt: 0,
  };
}

Deno.test("[phone] journal outbox sends in order to the one reporter; an ack removes", () => {
  const clock = new FakeClock();
  const { tabs, sent } = fakeTabs();
  const outbox = new JournalOutbox({ clock, tabs });
  outbox.add(entry("1"));
  outbox.add(entry("2"));
  outbox.add(entry("3"));
  assertEquals(sent, ["a:1", "a:2", "a:3"]);
  outbox.flush(); // nothing is sent twice
  assertEquals(sent.length, 3);
  outbox.ack("2", true);
  outbox.ack("unknown", true);
  assertEquals(outbox.entries.map((e) => `${e.entry.entryId}:${e.state}`), ["1:sent", "3:sent"]);
});

Deno.test("[phone] journal outbox keeps entries until a page subscribes", () => {
  const clock = new FakeClock();
  const { tabs, sent } = fakeTabs();
  tabs.reporter = undefined;
  const outbox = new JournalOutbox({ clock, tabs });
  outbox.add(entry("1"));
  outbox.add(entry("2"));
  assertEquals(sent, []);
  assertEquals(outbox.entries.map((e) => e.state), [
    JournalDelivery.Queued,
    JournalDelivery.Queued,
  ]);
  tabs.reporter = "b";
  outbox.flush();
  assertEquals(sent, ["b:1", "b:2"]);
});

Deno.test("[phone] journal outbox retries a failed delivery after its delay, once", () => {
  const clock = new FakeClock();
  const { tabs, sent } = fakeTabs();
  const outbox = new JournalOutbox({ clock, tabs });
  outbox.add(entry("1"));
  outbox.ack("1", false);
  assertEquals(outbox.entries[0].state, JournalDelivery.Delayed);
  assertEquals(clock.pending, [JOURNAL_RETRY_MS]);
  outbox.add(entry("2")); // a new entry goes at once; the delayed one waits
  assertEquals(sent, ["a:1", "a:2"]);
  clock.tick(JOURNAL_RETRY_MS - 1);
  assertEquals(sent.length, 2);
  clock.tick(1);
  assertEquals(sent, ["a:1", "a:2", "a:1"]);
  assertEquals(clock.pending, []);
  outbox.ack("1", true);
  outbox.ack("2", true);
  assertEquals(outbox.entries, []);
});

Deno.test("[phone] journal outbox: entries of a page that left go to the next reporter", () => {
  const clock = new FakeClock();
  const { tabs, sent } = fakeTabs();
  const outbox = new JournalOutbox({ clock, tabs });
  outbox.add(entry("1"));
  outbox.add(entry("2"));
  outbox.ack("1", true);
  tabs.reporter = "b";
  outbox.release("a");
  assertEquals(outbox.entries.map((e) => e.state), [JournalDelivery.Queued]);
  outbox.flush();
  assertEquals(sent, ["a:1", "a:2", "b:2"]);
  outbox.release("a"); // nothing of a's is left
  assertEquals(outbox.entries.map((e) => e.state), [JournalDelivery.Sent]);
  outbox.ack("2", true); // a late ack from anyone is a delivery
  assertEquals(outbox.entries, []);
});

Deno.test("[phone] journal outbox drops the oldest entry past its limit", () => {
  const clock = new FakeClock();
  const { tabs } = fakeTabs();
  tabs.reporter = undefined;
  const outbox = new JournalOutbox({ clock, tabs, limit: 3 });
  for (const id of ["1", "2", "3", "4", "5"]) outbox.add(entry(id));
  assertEquals(outbox.entries.map((e) => e.entry.entryId), ["3", "4", "5"]);
});

Deno.test("[phone] journalEntry: every phase carries the card and the start, end the status and talk time", () => {
  const info: CallInfo = {
    id: "call-1",
    sipCallId: "sip-1",
    direction: "outbound",
    number: "102",
    state: CallState.Ended,
    muted: false,
    held: false,
    remoteHeld: false,
    bitrixCallId: "card-7",
    startedAt: 1000,
    answeredAt: 2000,
    endedAt: 63_600,
    sipStatus: 200,
    endReason: "remote-hangup",
  };
  assertEquals(journalEntry(info, "start", "j1", 5), {
    entryId: "j1",
    phase: "start",
    sipCallId: "sip-1",
    callId: "call-1",
    direction: "outbound",
    number: "102",
    bitrixCallId: "card-7",
    at: 5,
    callStartedAt: 1000,
  });
  const end = journalEntry(info, "end", "j2", 70_000);
  assertEquals([end.durationSec, end.sipStatus, end.reason, end.bitrixCallId, end.callStartedAt], [
    62,
    200,
    "remote-hangup",
    "card-7",
    1000,
  ]);
  const missed = journalEntry({ ...info, answeredAt: undefined }, "end", "j3", 70_000);
  assertEquals(missed.durationSec, 0);
});
