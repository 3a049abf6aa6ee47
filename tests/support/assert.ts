/**
 * Assertions for tests (the @std/assert names, on top of `node:assert`, since JSR is not
 * reachable from the build machines).
 *
 * @module
 */
import nodeAssert from "node:assert/strict";

/** Asserts `value` is truthy. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Asserts deep equality. */
export function assertEquals<T>(actual: unknown, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Asserts deep inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** Asserts `text` contains `part`. */
export function assertStringIncludes(text: string, part: string, message?: string): void {
  nodeAssert.ok(
    text.includes(part),
    message ?? `expected ${JSON.stringify(text)} to include ${JSON.stringify(part)}`,
  );
}

/** Asserts `text` matches `pattern`. */
export function assertMatch(text: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(text, pattern, message);
}

/** Asserts `fn` rejects, optionally with an instance of `ErrorClass`; returns the error. */
export async function assertRejects<E extends Error = Error>(
  fn: () => Promise<unknown>,
  // deno-lint-ignore no-explicit-any
  ErrorClass?: new (...args: any[]) => E,
  messageIncludes?: string,
): Promise<E> {
  try {
    await fn();
  } catch (err) {
    if (ErrorClass && !(err instanceof ErrorClass)) {
      throw new Error(`expected ${ErrorClass.name}, got ${(err as Error)?.name}: ${err}`);
    }
    if (messageIncludes) assertStringIncludes((err as Error).message, messageIncludes);
    return err as E;
  }
  throw new Error("expected the function to reject");
}

/** Asserts `fn` throws synchronously; returns the error. */
export function assertThrows(fn: () => unknown, messageIncludes?: string): Error {
  try {
    fn();
  } catch (err) {
    if (messageIncludes) assertStringIncludes((err as Error).message, messageIncludes);
    return err as Error;
  }
  throw new Error("expected the function to throw");
}
