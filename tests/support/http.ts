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

/** `GET /readyz` of the app at `baseUrl`: status and body. */
export function readiness(baseUrl: string): Promise<JsonAnswer<Readiness>> {
  return readJson(fetch(`${baseUrl}/readyz`));
}

/**
 * Waits until `/readyz` of the app at `baseUrl` answers 200 (connection errors and other
 * statuses count as "not yet") and returns that answer.
 */
export function waitUntilReady(
  baseUrl: string,
  options: WaitOptions = {},
): Promise<JsonAnswer<Readiness>> {
  return waitFor(`${baseUrl}/readyz to answer 200`, async () => {
    const answer = await readiness(baseUrl);
    if (answer.status !== 200) throw new Error(`${answer.status} ${JSON.stringify(answer.body)}`);
    return answer;
  }, options);
}
