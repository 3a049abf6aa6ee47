/**
 * Vault's parameter shapes (durations, counts, comma lists) and the id and time formats of its
 * answers. Invalid parameters answer 400 as Vault does.
 *
 * @module
 */
import { fail } from "./reply.ts";

/** Random URL-safe base64 of `bytes` random bytes (token ids, accessors). */
export function randomId(bytes = 18): string {
  const raw = crypto.getRandomValues(new Uint8Array(bytes));
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

/** An epoch-ms time as Vault's RFC 3339 text. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses a Vault duration: seconds as a number or digit string, or `1h30m`, `20s`, `2d`. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === "string") {
    if (/^\d+$/.test(value)) return Number(value);
    const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
    const parts = [...value.matchAll(/(\d+)([smhd])/g)];
    if (parts.length && parts.map((p) => p[0]).join("") === value) {
      return parts.reduce((sum, p) => sum + Number(p[1]) * units[p[2]], 0);
    }
  }
  fail(400, `invalid duration for ${field}`);
}

/** Parses a non-negative integer given as a number or digit string. */
export function parseCount(value: unknown, field: string): number {
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= 0) return n;
  fail(400, `invalid value for ${field}`);
}

/** Parses a list given as an array or a comma-separated string. */
export function parseList(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String).filter(Boolean);
  if (typeof value === "string") return value.split(",").map((s) => s.trim()).filter(Boolean);
  return [];
}
