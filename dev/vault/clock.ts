/**
 * A manual clock for tests: time moves only when `advance()` is called, and timers due on the
 * way fire in order (their returned promises are awaited), so token lifetimes of hours can be
 * crossed without sleeping.
 *
 * @module
 */
import type { Clock } from "../../lib/server/secrets/vault.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => unknown;
}

/** A `Clock` whose time only moves on `advance()`. */
export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers: Timer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => unknown, ms: number): number {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due (earliest first, including
   * timers set by those callbacks) and awaiting what they return.
   */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const due = this.#timers
        .filter((t) => t.at <= target)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.#timers = this.#timers.filter((t) => t !== due);
      this.#now = Math.max(this.#now, due.at);
      await due.fn();
    }
    this.#now = target;
  }
}
