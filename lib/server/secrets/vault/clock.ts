/**
 * The time source of the Vault client and provider: token lifetimes, renewal timers, cache
 * ages. Tests pass a manual clock (dev/vault/clock.ts) to jump over token lifetimes.
 *
 * @module
 */

/** Time source and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `fn` after `ms`; a returned promise may be awaited by manual clocks. */
  setTimeout(fn: () => unknown, ms: number): number;
  clearTimeout(id: number): void;
}

/** The real clock; its timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const id = Number(setTimeout(fn, ms));
    Deno.unrefTimer(id);
    return id;
  },
  clearTimeout: (id) => clearTimeout(id),
};
