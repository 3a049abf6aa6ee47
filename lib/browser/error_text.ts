/**
 * What the islands say when something fails, in the page's language: an API error by its code
 * (never the server's English message), a phone error by its code, anything else (a network
 * failure) as the generic text.
 *
 * @module
 */
import { apiErrorText, type Lang, t, type TextKey } from "../shared/i18n.ts";
import { ApiError } from "./frame_api.ts";
import type { PhoneErrorCode } from "./phone/client.ts";

/** Texts of the phone's error codes that mean something to its user (others read as generic). */
export const PHONE_ERROR_TEXT: Partial<Record<PhoneErrorCode, TextKey>> = {
  "bad-credentials": "errBadCredentials",
  unreachable: "errUnreachable",
  rejected: "errRejected",
  "invalid-account": "errInvalidAccount",
  "media-denied": "errMicrophone",
  "media-failed": "errMediaFailed",
  "not-registered": "errNotRegistered",
};

/** The text of a phone error `code` in `lang`. */
export function phoneErrorText(lang: Lang, code: string | undefined): string {
  const key = code && Object.hasOwn(PHONE_ERROR_TEXT, code)
    ? PHONE_ERROR_TEXT[code as PhoneErrorCode]
    : undefined;
  return t(lang, key ?? "errorGeneric");
}

/** The text of any failure in `lang`. */
export function errorText(lang: Lang, error: unknown): string {
  if (error instanceof ApiError) return apiErrorText(lang, error.code, error.details);
  // A PhoneError (its class may come from the phone module's own bundle, so by name).
  if (error instanceof Error && error.name === "PhoneError") {
    return phoneErrorText(lang, (error as Error & { code?: string }).code);
  }
  return t(lang, "errorGeneric");
}
