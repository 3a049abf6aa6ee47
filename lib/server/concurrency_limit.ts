/**
 * A cap on how many of one kind of work run at once (work that calls out for an
 * unauthenticated request, e.g. confirming a first install with Bitrix24): over the cap the work
 * is refused at once with 503, never queued.
 *
 * @module
 */
import { UnavailableError } from "./errors.ts";

/** Runs at most `max` tasks at a time; more are refused. */
export class ConcurrencyLimit {
  #running = 0;

  constructor(readonly max: number, private readonly refusal = "too busy; retry shortly") {}

  /** How many tasks run now. */
  get running(): number {
    return this.#running;
  }

  /** Runs `task` if fewer than `max` run, else throws `UnavailableError` without running it. */
  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.max) throw new UnavailableError(this.refusal);
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
    }
  }
}
