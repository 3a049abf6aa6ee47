/**
 * Reading loosely typed REST parameters the way PHP does (`intval`, string casts, upper-cased
 * keys via `array_change_key_case`).
 *
 * @module
 */

/** True for plain objects (not arrays, not null). */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The same parameters with upper-case top-level keys. */
export function upperKeys(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k.toUpperCase(), v]));
}

/** A scalar as a string ("" for absent, arrays and objects). */
export function str(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return "";
}

/** PHP's intval for the values REST receives (0 when not a number). */
export function int(v: unknown): number {
  if (typeof v === "number") return Math.trunc(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  const n = Number.parseInt(str(v), 10);
  return Number.isNaN(n) ? 0 : n;
}
