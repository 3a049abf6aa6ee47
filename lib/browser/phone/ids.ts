/**
 * Engine-local ids (engines, calls, journal entries): a prefix, the time, a counter and a
 * little randomness, unique across the hosts an origin may run.
 *
 * @module
 */

let counter = 0;

/** A new id `<prefix>-…` made at `now` (epoch ms). */
export function newId(prefix: string, now: number): string {
  return `${prefix}-${now.toString(36)}${(++counter).toString(36)}${
    Math.random().toString(36).slice(2, 6)
  }`;
}
