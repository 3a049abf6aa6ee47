/**
 * The page's calls to the emulator's session API (`/_portal/session/<id>/<action>`, JSON).
 *
 * @module
 */
import { cfg, type Params } from "./page.ts";

/** POSTs `body` to the session's `action`; resolves with the JSON answer, rejects on HTTP errors. */
export function post(action: string, body: unknown, keepalive = false): Promise<Params> {
  return fetch(`${cfg.api}/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    keepalive,
  }).then((r) => r.ok ? r.json() : Promise.reject(new Error(`${action}: HTTP ${r.status}`)));
}
