import { assertEquals } from "../../tests/support/assert.ts";
import { type AlertHost, IncomingAlert } from "./incoming_alert.ts";
import type { CallInfo } from "./phone/types.ts";
import { CallState } from "./phone/call_state.ts";

function fakeHost(allowed = true) {
  const state = {
    hidden: true,
    title: "SIP Phone",
    shown: [] as {
      title: string;
      body: string;
      data: { tabId: string; callId: string };
      open: boolean;
      click: () => void;
    }[],
    focused: 0,
    timers: new Map<number, () => void>(),
  };
  let nextId = 1;
  const host: AlertHost = {
    hidden: () => state.hidden,
    title: { get: () => state.title, set: (t) => state.title = t },
    notify(title, body, data, onClick) {
      if (!allowed) return undefined;
      const n = { title, body, data, open: true, click: onClick };
      state.shown.push(n);
      return { close: () => n.open = false };
    },
    focus: () => state.focused++,
    setInterval: (fn) => {
      state.timers.set(nextId, fn);
      return nextId++;
    },
    clearInterval: (id) => state.timers.delete(id),
  };
  return { host, state, tick: () => [...state.timers.values()].forEach((fn) => fn()) };
}

const ringing = { id: "c1", number: "1001", state: CallState.Incoming } as CallInfo;
const text = (c: CallInfo) => `Call from ${c.number}`;

Deno.test("[incoming_alert] a hidden tab: the title blinks and one notification shows", () => {
  const { host, state, tick } = fakeHost();
  const alert = new IncomingAlert(host, "tab-1", text);
  alert.update([ringing]);
  alert.update([ringing]);
  assertEquals(state.shown.map((n) => [n.title, n.body, n.data]), [
    ["Call from 1001", "1001", { tabId: "tab-1", callId: "c1" }],
  ]);
  assertEquals(state.title, "☎ Call from 1001");
  tick();
  assertEquals(state.title, "SIP Phone");
  tick();
  assertEquals(state.title, "☎ Call from 1001");
  state.shown[0].click();
  assertEquals(state.focused, 1);
  // Answered elsewhere (or the caller gave up): everything goes back.
  alert.update([{ ...ringing, state: CallState.Connected }]);
  assertEquals(state.title, "SIP Phone");
  assertEquals(state.shown[0].open, false);
  assertEquals(state.timers.size, 0);
});

Deno.test("[incoming_alert] a visible tab, or notifications not allowed", () => {
  const { host, state } = fakeHost(false);
  const alert = new IncomingAlert(host, "tab-1", text);
  state.hidden = false;
  alert.update([ringing]);
  assertEquals(state.title, "SIP Phone");
  state.hidden = true;
  alert.update([ringing]);
  assertEquals(state.shown.length, 0);
  assertEquals(state.title, "☎ Call from 1001");
  state.hidden = false; // the user came back to the tab
  alert.update([ringing]);
  assertEquals(state.title, "SIP Phone");
});
