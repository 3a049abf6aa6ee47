/**
 * Injected faults: statuses (412, 429, 5xx with Vault's texts), a connection reset mid-body,
 * or a delay before the real answer; consumed in the order injected, optionally only on paths
 * under a prefix.
 *
 * @module
 */
import { abortableSleep } from "../../lib/server/secrets/vault/http.ts";
import { json } from "./reply.ts";

/** A fault the server injects instead of (or before) answering. */
export type VaultFault =
  | { type: "status"; status: 412 | 429 | 500 | 502 | 503; errors?: string[] }
  | { type: "reset" }
  | { type: "delay"; ms: number };

/** The faults waiting for their requests. */
export class FaultQueue {
  #faults: { fault: VaultFault; times: number; path?: string }[] = [];

  /** Queues `fault` for the next `times` requests (under `path`, when given). */
  inject(fault: VaultFault, options: { times?: number; path?: string } = {}): void {
    this.#faults.push({ fault, times: options.times ?? 1, path: options.path });
  }

  /**
   * The answer of the next fault due on `path`, if any; a delay waits (cut short by `signal`)
   * and answers `undefined` so the request goes on.
   */
  async take(path: string, signal: AbortSignal): Promise<Response | undefined> {
    const i = this.#faults.findIndex((f) => !f.path || path.startsWith(f.path));
    if (i < 0) return undefined;
    const entry = this.#faults[i];
    if (--entry.times <= 0) this.#faults.splice(i, 1);
    const fault = entry.fault;
    switch (fault.type) {
      case "status": {
        const defaults: Record<number, string> = {
          412: "required index state not present",
          429: `request path "${path}": rate limit quota exceeded`,
          500: "internal error",
          502: "upstream error",
          503: "Vault is sealed",
        };
        return json(fault.status, { errors: fault.errors ?? [defaults[fault.status]] });
      }
      case "reset":
        return new Response(
          new ReadableStream({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"request_id":'));
              // Deno prints a non-Error reason as one line (an Error would print a stack).
              controller.error("vault test server: injected connection reset");
            },
          }),
          { headers: { "content-type": "application/json" } },
        );
      case "delay":
        await abortableSleep(fault.ms, signal);
        return undefined;
    }
  }
}
