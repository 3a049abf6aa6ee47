/**
 * The shape a value takes on the wire: what `JSON.parse(JSON.stringify(value))` gives back.
 * The contract declares answers as the server builds them (with `Date`s); the islands read
 * `Json<Answer>` (the same fields, dates as ISO strings).
 *
 * @module
 */

/**
 * `T` after a JSON round trip: `Date` becomes its ISO string, functions go (`unknown` stays
 * unknown).
 */
export type Json<T> = unknown extends T ? unknown
  : T extends Date ? string
  : T extends string | number | boolean | null ? T
  : T extends readonly (infer Item)[] ? Json<Item>[]
  : T extends object
    ? { [K in keyof T as T[K] extends (...args: never[]) => unknown ? never : K]: Json<T[K]> }
  : never;
