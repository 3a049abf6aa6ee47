/**
 * The one mapping of other libraries' errors into the app's typed errors (errors.ts): a
 * Bitrix24 call that failed (`BitrixApiError`, into which rest.ts turns the SDK's errors) is
 * the upstream's failure (502), an unreachable database (postgres.js and PGlite connection
 * codes) and a Vault that cannot answer are unavailable dependencies (503). `app.ts` maps every
 * error a handler lets through with it; anything else stays an internal error.
 *
 * @module
 */
import { AppError, UnavailableError, UpstreamError } from "./errors.ts";
import { BitrixApiError } from "./bitrix/rest.ts";
import { isDatabaseUnavailable } from "./db/client.ts";
import { VaultError } from "./secrets/vault.ts";

/** `err` as an `AppError` when it is one or a foreign error with a meaning; else `err`. */
export function toAppError(err: unknown): unknown {
  if (err instanceof AppError) return err;
  if (err instanceof BitrixApiError) {
    return new UpstreamError("bitrix24", `${err.method ?? "a call"} failed: ${err.code}`, {
      cause: err,
    });
  }
  if (err instanceof VaultError) {
    return new UnavailableError(`secrets unavailable: ${err.reason}`, { cause: err });
  }
  if (isDatabaseUnavailable(err)) {
    return new UnavailableError("the database is unavailable", { cause: err });
  }
  return err;
}
