import { assertEquals } from "../../../tests/support/assert.ts";
import { FakeClock } from "./fake_clock.ts";
import type { HostMessage } from "./protocol.ts";
import { Tabs } from "./tabs.ts";

/** Tabs attached one millisecond apart; every message is recorded as `tab:message`. */
function setup(...ids: string[]) {
  const clock = new FakeClock();
  const sent: string[] = [];
  const tabs = new Tabs({ clock });
  for (const id of ids) {
    const link = {
      id,
      send: (m: HostMessage) =>
        sent.push(`${id}:${m.t === "ring" ? `ring ${m.on}${m.waiting ? " waiting" : ""}` : m.t}`),
    };
    tabs.attach(link, { t: "hello", tabId: id, visible: false, journal: false });
    clock.tick(1);
  }
  return { clock, tabs, sent };
}

Deno.test("[phone] best tab: sound first, then visible, then most recently active", () => {
  const { clock, tabs } = setup("a", "b", "c");
  assertEquals(tabs.best(), "c"); // all hidden: the last active
  tabs.setVisible("a", true);
  assertEquals(tabs.best(), "a");
  clock.tick(10);
  tabs.setVisible("b", true);
  assertEquals(tabs.best(), "b");
  tabs.setSound("b", false);
  assertEquals(tabs.best(), "a"); // b may not play sound
  tabs.setSound("a", false);
  tabs.setSound("c", true);
  assertEquals(tabs.best(), "c"); // hidden, but it can be heard
  assertEquals(tabs.best("c"), "b");
  tabs.detach("c");
  assertEquals(tabs.best(), "b");
  assertEquals(tabs.canPlaySound, false);
});

Deno.test("[phone] best tab: ties go to the tab that connected first", () => {
  const clock = new FakeClock();
  const tabs = new Tabs({ clock });
  for (const id of ["x", "y"]) {
    tabs.attach({ id, send: () => {} }, { t: "hello", tabId: id, visible: true, journal: false });
  }
  assertEquals(tabs.best(), "x");
});

Deno.test("[phone] media tab: the asking tab unless it is mute and another is not", () => {
  const { tabs } = setup("a", "b");
  assertEquals(tabs.mediaTabFor("a"), "a");
  tabs.setSound("a", false);
  assertEquals(tabs.mediaTabFor("a"), "b");
  tabs.setSound("b", false);
  assertEquals(tabs.mediaTabFor("a"), "a"); // nobody can play: stay
  assertEquals(tabs.mediaTabFor("gone"), "gone");
});

Deno.test("[phone] journal reporter: the subscribed tab active longest ago", () => {
  const { clock, tabs } = setup("a", "b", "c");
  assertEquals(tabs.journalReporter(), undefined);
  tabs.setJournal("c", true);
  tabs.setJournal("b", true);
  assertEquals(tabs.journalReporter(), "b");
  clock.tick(5);
  tabs.setVisible("b", true);
  assertEquals(tabs.journalReporter(), "c");
  assertEquals(tabs.setJournal("gone", true), false);
});
