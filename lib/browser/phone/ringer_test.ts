import { assertEquals } from "../../../tests/support/assert.ts";
import type { HostMessage } from "./protocol.ts";
import { Ringer } from "./ringer.ts";

/** Tabs whose best one the test sets; ring messages are recorded as `tab:on[ waiting]`. */
function fakeTabs() {
  const sent: string[] = [];
  const tabs = {
    bestTab: "b" as string | undefined,
    best: () => tabs.bestTab,
    send: (tabId: string, m: HostMessage) => {
      if (m.t === "ring") sent.push(`${tabId}:${m.on}${m.waiting ? " waiting" : ""}`);
    },
  };
  return { tabs, sent };
}

Deno.test("[phone] ringer: the best tab rings, the ringer moves, stops when answered", () => {
  const { tabs, sent } = fakeTabs();
  const ringer = new Ringer({ tabs });
  ringer.update(false, false);
  assertEquals(sent, []);
  ringer.update(true, false);
  assertEquals([ringer.tabId, sent], ["b", ["b:true"]]);
  ringer.update(true, false); // nothing changed: nothing sent
  assertEquals(sent.length, 1);
  tabs.bestTab = "a";
  ringer.update(true, false);
  assertEquals(sent, ["b:true", "b:false", "a:true"]);
  ringer.update(true, true); // another call went live: the call-waiting tone
  assertEquals(sent.at(-1), "a:true waiting");
  ringer.update(false, true);
  assertEquals([ringer.tabId, sent.at(-1)], [undefined, "a:false"]);
});

Deno.test("[phone] ringer: a ringing tab that leaves is replaced without a stop message", () => {
  const { tabs, sent } = fakeTabs();
  const ringer = new Ringer({ tabs });
  ringer.update(true, false);
  tabs.bestTab = "a";
  ringer.forget("b");
  ringer.forget("a"); // not the ringer: no effect
  ringer.update(true, false);
  assertEquals(sent, ["b:true", "a:true"]);
});
