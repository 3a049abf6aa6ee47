/**
 * Waiting in tests: a pause, and a poll until a condition holds (the one loop every test uses,
 * instead of a deadline loop of its own).
 *
 * @example
 * ```ts
 * const row = await waitFor("the call row", () => repo.find(id), { timeoutMs: 5_000 });
 * ```
 *
 * @module
 */

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** How long {@link waitFor} polls, and how often. */
export interface WaitOptions {
  /** Gives up after this long. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Pause between two checks. @defaultValue 50 */
  intervalMs?: number;
}

/**
 * Calls `check` until it returns a truthy value and returns that value. A check that throws
 * counts as "not yet" (a server still starting, a page still loading); after `timeoutMs` it
 * throws, naming `what` and the last value or error seen.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 50 }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${shown(last)})`);
    }
    await sleep(intervalMs);
  }
}

function shown(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
