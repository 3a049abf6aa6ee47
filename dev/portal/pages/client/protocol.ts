/**
 * The parent side of the frame postMessage protocol (reference "Frame postMessage protocol of
 * @bitrix24/b24jssdk 2.2.0"): `method:params:callback:APP_SID` strings (or the object form),
 * accepted only from a known APP_SID at its own origin; the rest is logged as dropped.
 *
 * @module
 */
import { handle } from "./commands.ts";
import { frames } from "./frames.ts";
import { record } from "./log.ts";
import type { Params } from "./page.ts";

/** Listens for the frames' messages. */
export function listenToFrames(): void {
  globalThis.addEventListener("message", (e: MessageEvent) => {
    let method: string;
    let sid: string;
    let key: string;
    let params: Params;
    if (typeof e.data === "string") {
      const r = e.data.split(":");
      if (r.length < 3) return;
      method = r[0];
      sid = r[r.length - 1];
      key = r[r.length - 2];
      const raw = r.slice(1, r.length - 2).join(":");
      if (raw !== "") {
        try {
          params = JSON.parse(raw);
        } catch {
          params = raw;
          const f = frames.get(sid);
          if (f && e.origin === f.spec.origin) {
            record({ kind: "dropped", name: method, appSid: sid, reason: "params are not JSON" });
            return;
          }
        }
      }
    } else if (e.data && typeof e.data === "object" && typeof e.data.method === "string") {
      method = e.data.method;
      sid = String(e.data.appSid ?? "");
      key = String(e.data.callback ?? "");
      params = e.data.params || undefined;
    } else {
      return;
    }
    const f = frames.get(sid);
    if (!f) {
      record({ kind: "dropped", name: method, appSid: sid, reason: "unknown APP_SID" });
      return;
    }
    if (e.origin !== f.spec.origin) {
      record({
        kind: "dropped",
        name: method,
        appSid: sid,
        placement: f.spec.placement,
        reason: `origin ${e.origin} is not ${f.spec.origin}`,
      });
      return;
    }
    handle(f, method, params, key);
  });
}
