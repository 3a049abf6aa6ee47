/**
 * Reading answers in tests: a response's status with its JSON body, and the app's readiness
 * probe (read once, or waited for).
 *
 * @module
 */
import { waitFor, type WaitOptions } from "./wait.ts";

/** A response read whole: its status and its parsed JSON body. */
export interface JsonAnswer<T = Any> {
  status: number;
  /** The parsed body; undefined when the body is empty. */
  body: T;
}

// deno-lint-ignore no-explicit-any
type Any = any;

/** Reads `response` whole: its status and its JSON body (undefined when empty). */
export async function readJson<T = Any>(
  response: Response | Promise<Response>,
): Promise<JsonAnswer<T>> {
  const res = await response;
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** What `/readyz` answers. */
export interface Readiness {
  ready: boolean;
  checks: Record<"database" | "secrets" | "migrations", { ok: boolean; reason?: string }>;
}

/** The app a request goes to: its base URL (over HTTP), or the app in process. */
export type AppTarget = string | { request(path: string): Promise<Response> };

/** `GET /readyz` of the app: status and body. */
export function readiness(app: AppTarget): Promise<JsonAnswer<Readiness>> {
  return readJson(typeof app === "string" ? fetch(`${app}/readyz`) : app.request("/readyz"));
}

/**
 * Waits until `/readyz` of the app answers 200 (connection errors and other statuses count as
 * "not yet") and returns that answer.
 */
export function waitUntilReady(
  app: AppTarget,
  options: WaitOptions = {},
): Promise<JsonAnswer<Readiness>> {
  return waitFor("/readyz to answer 200", async () => {
    const answer = await readiness(app);
    if (answer.status !== 200) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }, options);
}
