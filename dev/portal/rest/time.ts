/**
 * The `time` block every successful REST answer carries. The SDK needs it: without `time`
 * every call fails with JSSDK_UNKNOWN_ERROR (reference §D).
 *
 * @module
 */

/** The `time` object of a REST answer. */
export interface TimeBlock {
  start: number;
  finish: number;
  duration: number;
  processing: number;
  date_start: string;
  date_finish: string;
  operating_reset_at: number;
  operating: number;
}

/** ISO-8601 with a `+00:00` offset and no milliseconds, as the portal prints dates. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

/** The block for a call that ran from `startMs` to `finishMs`. */
export function timeBlock(startMs: number, finishMs: number): TimeBlock {
  const duration = (finishMs - startMs) / 1000;
  return {
    start: startMs / 1000,
    finish: finishMs / 1000,
    duration,
    processing: duration,
    date_start: isoSeconds(startMs),
    date_finish: isoSeconds(finishMs),
    operating_reset_at: Math.floor(startMs / 1000) + 600,
    operating: 0,
  };
}
