/**
 * Placement events into PAGE_BACKGROUND_WORKER frames: each bound callback key gets the
 * `BackgroundCallCard::…` events in order, never earlier than `bindEventDelayMs` after binding.
 *
 * @module
 */
import type { CardCall } from "../calls.ts";
import { type Frame, frames, reply } from "./frames.ts";
import { record } from "./log.ts";
import { cfg } from "./page.ts";

/**
 * Posts an event to a bound key, in emission order per frame, but never earlier than
 * `bindEventDelayMs` after that key's `placementBindEvent` (reference §E: earlier posts would
 * resolve the SDK's bind promise instead of reaching the callback).
 */
export function deliver(f: Frame, key: string, params: unknown): void {
  const due = (f.boundAt.get(key) ?? 0) + cfg.bindEventDelayMs;
  f.queue = f.queue
    .then(() =>
      new Promise<void>((resolve) => {
        const wait = due - Date.now();
        wait > 0 ? setTimeout(resolve, wait) : resolve();
      })
    )
    .then(() => {
      if (frames.get(f.spec.appSid) === f) reply(f, key, params);
    });
}

/**
 * `BX.onCustomEvent(window, 'BackgroundCallCard::' + name, [params])` for bound frames, about
 * the card of `callId` (the one open, if any).
 */
export function emit(name: string, params: unknown, callId: string | undefined): void {
  const full = `BackgroundCallCard::${name}`;
  let targets = 0;
  for (const f of frames.values()) {
    for (const key of f.bindings.get(full) ?? []) {
      targets++;
      deliver(f, key, params);
      if (name === "initialized" && callId) f.initialized.add(callId);
    }
  }
  record({ kind: "event", name: full, params, targets, callId });
}

/** The `initialized` event's payload: the call without the emulator's `crmName`. */
export function initializedPayload(call: CardCall): Record<string, unknown> {
  const { crmName: _name, ...rest } = call;
  return rest;
}
