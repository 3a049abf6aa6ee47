/**
 * The errors of the app's JSON APIs as clients see them: one body shape and a closed set of
 * stable codes. The server's messages are English, for logs and developers; a UI shows the text
 * of the code in its own language (`apiErrorText` in `lib/shared/i18n.ts`).
 *
 * @module
 */

/** Every error code the APIs answer with. */
export const API_ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "method_not_allowed",
  "conflict",
  "payload_too_large",
  "rate_limited",
  "upstream_error",
  "unavailable",
  "internal",
] as const;

/** A stable, machine-readable error code. */
export type ApiErrorCode = typeof API_ERROR_CODES[number];

/** One field the request got wrong (the `details` of a `bad_request`). */
export interface FieldIssue {
  /** The field's path, dot-separated (`settings.iceServers.0.urls`). */
  path: string;
  /** What is wrong with it, in English. */
  message: string;
}

/** The JSON body every API error response carries. */
export interface ErrorBody {
  error: { code: ApiErrorCode; message: string; details?: unknown };
}
