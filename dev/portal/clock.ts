/**
 * The emulator's clock. Every expiry (tokens, call de-duplication) and the rate limiter read it,
 * so tests can move time forward instead of sleeping.
 *
 * @module
 */

/** A wall clock in milliseconds with an adjustable offset on top of a source clock. */
export class Clock {
  #offset = 0;

  constructor(private readonly source: () => number = Date.now) {}

  /** Current time in milliseconds since the epoch. */
  now(): number {
    return this.source() + this.#offset;
  }

  /** Current time in whole unix seconds. */
  unix(): number {
    return Math.floor(this.now() / 1000);
  }

  /** Moves this clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.#offset += ms;
  }
}
