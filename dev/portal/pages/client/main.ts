/**
 * The portal page's script (bundled by `../script.ts`): the parent side of the frame
 * postMessage protocol (reference "Frame postMessage protocol of @bitrix24/b24jssdk 2.2.0",
 * after CORE `BX.rest.AppLayout`), the PAGE_BACKGROUND_WORKER call-card interface (CORE
 * `base-worker.js`, `browser-worker.js`, `view.js`), the call card itself, the slider,
 * click-to-call and the protocol log. It inserts the page's frames, follows the emulator's
 * calls over an event stream, and exposes `globalThis.b24portal` to tests.
 *
 * @module
 */
import { currentCard, listenToCard, renderCard, showCalls } from "./card.ts";
import { listenForClickToCall } from "./click_to_call.ts";
import { frames, mount } from "./frames.ts";
import { listenToHeader } from "./header.ts";
import { logEntries } from "./log.ts";
import { cfg } from "./page.ts";
import { listenToFrames } from "./protocol.ts";

listenToFrames();
listenToCard();
listenForClickToCall();
listenToHeader();

for (const spec of cfg.frames) mount(spec);
renderCard();

const stream = new EventSource(`${cfg.api}/stream`);
stream.addEventListener("calls", (e) => {
  showCalls(JSON.parse((e as MessageEvent).data));
});
globalThis.addEventListener("pagehide", () => stream.close());

Object.assign(globalThis, {
  b24portal: {
    sessionId: cfg.sessionId,
    log: logEntries,
    frames: () =>
      [...frames.values()].map((f) => ({
        appSid: f.spec.appSid,
        role: f.spec.role,
        placement: f.spec.placement,
        loadMs: f.loadMs,
        events: [...f.bindings.keys()],
      })),
    card: () => {
      const card = currentCard();
      return card && {
        callId: card.call.CALL_ID,
        uiState: card.uiState,
        muted: card.muted,
        held: card.held,
        title: card.title,
        statusText: card.statusText,
        timer: !card.timerShown ? "hidden" : card.timerInterval !== null ? "running" : "stopped",
      };
    },
  },
});
