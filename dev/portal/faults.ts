/**
 * Fault injection: make chosen REST methods (or the token endpoint, as method `oauth.token`)
 * fail the way a real portal sometimes does.
 *
 * @module
 */
import { z } from "zod";

/** A fault to inject. */
export const faultSchema = z.object({
  /** Method name (case-insensitive, `.json` optional), `oauth.token`, or `*` for every REST method. */
  method: z.string().min(1).default("*"),
  /**
   * - `503`: an HTML 503 from the front web server (not JSON);
   * - `query_limit`: 503 `QUERY_LIMIT_EXCEEDED`;
   * - `expired_token`: 401 `expired_token` whatever the token;
   * - `timeout`: no answer for 60 s (then a 504), or until the portal closes;
   * - `500`: 500 `INTERNAL_SERVER_ERROR`.
   */
  kind: z.enum(["503", "query_limit", "expired_token", "timeout", "500"]),
  /** How many requests it hits; unlimited when absent. */
  times: z.number().int().positive().optional(),
  /** For how long from now (portal clock); forever when absent. */
  forMs: z.number().positive().optional(),
});

/** Input of `setFault`. */
export type FaultInput = z.input<typeof faultSchema>;

/** The kind of an injected fault. */
export type FaultKind = z.output<typeof faultSchema>["kind"];

interface ActiveFault {
  method: string;
  kind: FaultKind;
  left: number;
  until: number;
}

/** Normalizes a REST method name the way the portal does: lower case, no `.json`. */
export function normalizeMethod(method: string): string {
  return method.toLowerCase().replace(/^\/+/, "").replace(/\.json$/, "");
}

/** Active faults, consumed in the order they were set. */
export class Faults {
  #active: ActiveFault[] = [];

  /** Adds a fault. */
  set(input: FaultInput, now: number): void {
    const f = faultSchema.parse(input);
    this.#active.push({
      method: f.method === "*" ? "*" : normalizeMethod(f.method),
      kind: f.kind,
      left: f.times ?? Infinity,
      until: f.forMs === undefined ? Infinity : now + f.forMs,
    });
  }

  /** Removes every fault. */
  clear(): void {
    this.#active = [];
  }

  /** The fault that hits this request, consuming one of its `times`. */
  take(method: string, now: number): FaultKind | undefined {
    this.#active = this.#active.filter((f) => f.left > 0 && f.until > now);
    const hit = this.#active.find((f) =>
      f.method === method || (f.method === "*" && method !== "oauth.token")
    );
    if (!hit) return undefined;
    hit.left -= 1;
    return hit.kind;
  }
}
