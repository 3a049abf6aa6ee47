/**
 * Time as the engine's parts see it: the current time and one-shot timers. Injected through
 * options so that unit tests drive time with {@link FakeClock} from `fake_clock.ts` instead of
 * waiting; the engine uses {@link realClock}.
 *
 * @module
 */

/** A pending timer, as returned by {@link Clock.setTimeout}. */
export type TimerId = ReturnType<typeof setTimeout>;

/** The current time and one-shot timers. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Runs `run` once after `ms` milliseconds. */
  setTimeout(run: () => void, ms: number): TimerId;
  /** Cancels a timer; an unknown or undefined id is ignored. */
  clearTimeout(id: TimerId | undefined): void;
}

/** The platform's clock (`Date.now`, `setTimeout`). */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms),
  clearTimeout: (id) => clearTimeout(id),
};
