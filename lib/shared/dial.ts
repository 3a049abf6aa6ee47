/**
 * Dial-string normalisation for the dial pad: what a user types or pastes (`+7 (495) 123-45-67`,
 * `tel:+7…`, an extension) becomes what the phone dials (`+74951234567`).
 *
 * @module
 */

/** Normalises a typed or pasted number; returns "" when nothing dialable is left. */
export function normalizeNumber(input: string): string {
  let s = input.trim().replace(/^(tel|sip|sips):/i, "");
  if (s.includes("@")) s = s.slice(0, s.indexOf("@"));
  const plus = s.startsWith("+") || s.startsWith("00");
  const digits = s.replace(/^00/, "").replace(/[^0-9*#]/g, "");
  if (!digits) return "";
  return plus ? `+${digits}` : digits;
}

/** Formats seconds as m:ss or h:mm:ss. */
export function formatDuration(totalSec: number): string {
  const s = Math.max(0, Math.floor(totalSec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
