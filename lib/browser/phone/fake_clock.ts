/**
 * A {@link Clock} for unit tests: time stands still until the test moves it with
 * {@link FakeClock.tick}, which runs the timers that fall due, in order.
 *
 * @module
 */
import type { Clock, TimerId } from "./clock.ts";

/** Manual time: starts at `start` and moves only by {@link tick}. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; run: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(run: () => void, ms: number): TimerId {
    const id = ++this.#seq;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), run });
    return id as unknown as TimerId;
  }

  clearTimeout(id: TimerId | undefined): void {
    this.#timers.delete(id as unknown as number);
  }

  /** Delays of the pending timers from now, soonest first. */
  get pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by `ms`, running every timer due on the way (and those they set). */
  tick(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at > until) continue;
        if (!next || entry[1].at < next[1].at) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].run();
    }
    this.#now = until;
  }
}
