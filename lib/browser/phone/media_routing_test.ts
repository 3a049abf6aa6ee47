import { assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { CALL_EDGES, CallState } from "./call_state.ts";
import type { CallRecord } from "./calls.ts";
import { FakeClock } from "./fake_clock.ts";
import { chooseMediaMove, MediaRouter } from "./media_routing.ts";
import type { HostMessage } from "./protocol.ts";
import { StateMachine } from "./state_machine.ts";
import { Tabs } from "./tabs.ts";
import type { CallInfo } from "./types.ts";

Deno.test("[phone] media move: by call state, tabs left and the dead connection's DTLS role", () => {
  const table = Object.values(CallState).map((s) => [
    s,
    chooseMediaMove(s, "t2", true),
    chooseMediaMove(s, "t2", false),
    chooseMediaMove(s, undefined, true),
  ]);
  assertEquals(table, [
    [CallState.Dialing, "end-unfinished", "end-unfinished", "end-no-tab"],
    [CallState.Ringing, "end-unfinished", "end-unfinished", "end-no-tab"],
    [CallState.Incoming, "keep", "keep", "keep"],
    [CallState.Connecting, "end-unfinished", "end-unfinished", "end-no-tab"],
    [CallState.Connected, "offer", "offerless", "end-no-tab"],
    [CallState.Held, "offer", "offerless", "end-no-tab"],
    [CallState.Ending, "keep", "keep", "keep"],
    [CallState.Ended, "keep", "keep", "keep"],
  ]);
});

/** Two tabs (t2 visible, so the best), a router with fake calls that record what it asks. */
function setup() {
  const clock = new FakeClock();
  const sent: { tabId: string; message: HostMessage }[] = [];
  const tabs = new Tabs({ clock });
  for (const [id, visible] of [["t1", false], ["t2", true]] as const) {
    const send = (message: HostMessage) => sent.push({ tabId: id, message });
    tabs.attach({ id, send }, { t: "hello", tabId: id, visible, journal: false });
  }
  const asked: string[] = [];
  const calls = {
    bySession: () => undefined,
    reinvite: (_rec: CallRecord, options: Record<string, unknown>, withoutSdp = false) => {
      asked.push(`reinvite ${JSON.stringify(options)}${withoutSdp ? " without SDP" : ""}`);
      return Promise.resolve();
    },
    terminate: (_rec: CallRecord, reason: string) => {
      asked.push(`terminate ${reason}`);
      return Promise.resolve();
    },
  };
  const router = new MediaRouter({
    clock,
    log: () => {},
    tabs,
    calls: () => calls,
    settings: () => ({
      iceServers: [],
      iceGatheringTimeoutMs: 500,
      mediaTimeoutMs: 100,
      devices: {},
    }),
    onChange: () => {},
  });
  return { clock, tabs, sent, asked, router };
}

/** A call in `state` whose media is in `mediaTabId`; `rebinds` records its handler's rebinds. */
function call(state: CallState, mediaTabId: string, dtlsClient?: boolean) {
  const rebinds: unknown[] = [];
  const info = { id: "c1", muted: false, held: false, mediaTabId } as CallInfo;
  const sdh = { sdhId: "sdh-1", dtlsClient, rebind: (o: unknown) => rebinds.push(o) };
  const rec = {
    info,
    fsm: new StateMachine("call", state, CALL_EDGES),
    sdh,
  } as unknown as CallRecord;
  return { rec, rebinds };
}

Deno.test("[phone] media move: a call we answered offers from the best other tab", () => {
  const { router, asked } = setup();
  const { rec, rebinds } = call(CallState.Connected, "t2", true);
  router.mediaTabLost(rec);
  assertEquals(rec.info.mediaTabId, "t1");
  assertEquals(rebinds, [{}]);
  assertEquals(asked, ['reinvite {"hold":false,"offerOptions":{"iceRestart":true}}']);
});

Deno.test("[phone] media move: a call we placed asks for an offer and answers as client", () => {
  const { router, asked } = setup();
  const { rec, rebinds } = call(CallState.Held, "t1", false);
  rec.info.held = true;
  router.mediaTabLost(rec);
  assertEquals(rec.info.mediaTabId, "t2");
  assertEquals(rebinds, [{ iceControlling: true, deferRemoteCandidates: true }]);
  assertEquals(asked, ['reinvite {"hold":true} without SDP']);
});

Deno.test("[phone] media move: unfinished or tabless calls end; incoming ones just move", () => {
  const { router, asked, tabs } = setup();
  router.mediaTabLost(call(CallState.Connecting, "t1").rec);
  const incoming = call(CallState.Incoming, "t1").rec;
  router.mediaTabLost(incoming);
  assertEquals(incoming.info.mediaTabId, "t2");
  tabs.detach("t1");
  router.mediaTabLost(call(CallState.Connected, "t2", true).rec);
  assertEquals(asked, ["terminate no-media-tab", "terminate no-media-tab"]);
});

Deno.test("[phone] media requests: answered, timed out, failed when their tab goes", async () => {
  const { router, sent, clock } = setup();
  const { rec } = call(CallState.Connected, "t2", true);
  const answered = router.request(rec, "iceState", "sdh-1", {});
  const request = sent.at(-1)!;
  assertEquals([request.tabId, request.message.t], ["t2", "media"]);
  const id = (request.message as Extract<HostMessage, { t: "media" }>).id;
  router.settle({ t: "media-result", id, ok: true, value: "connected" });
  assertEquals(await answered, "connected");
  const slow = router.request(rec, "iceState", "sdh-1", {});
  clock.tick(100);
  await assertRejects(() => slow);
  const orphan = router.request(rec, "iceState", "sdh-1", {});
  router.tabGone("t2");
  await assertRejects(() => orphan);
  assertEquals(clock.pending, []);
  rec.info.mediaTabId = "gone";
  await assertRejects(() => router.request(rec, "iceState", "sdh-1", {}));
});
