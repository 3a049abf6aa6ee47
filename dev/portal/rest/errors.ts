/**
 * REST errors with the codes, texts and HTTP statuses of the real portal (DOCS
 * `_includes/system-errors.md`; CORE `rest/classes/general/rest.php`, `rest/lib/oauth/auth.php`,
 * `rest/lib/restexception.php`: a RestException without a status is a 400).
 *
 * @module
 */

/** The JSON body of a failed REST call. */
export interface RestErrorBody {
  error: string;
  error_description: string;
  [extra: string]: unknown;
}

/** A failed REST call: status, code, description and CORE's "additional" fields. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    description: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(description);
    this.name = "RestError";
  }

  /** The response body, `{error, error_description, ...extra}`. */
  body(): RestErrorBody {
    return { error: this.code, error_description: this.message, ...this.extra };
  }
}

/** Unknown method (checked before auth, as in CORE). */
export const methodNotFound = () =>
  new RestError(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");

/** No `auth` parameter or Bearer header. */
export const noAuthFound = () => new RestError(401, "NO_AUTH_FOUND", "Wrong authorization data");

/** A token the portal never issued. ⚠ Text from DOCS custom-auth-provider.md. */
export const invalidToken = () => new RestError(401, "invalid_token", "Token expired or invalid");

/** An access token past its lifetime. */
export const expiredToken = () =>
  new RestError(401, "expired_token", "The access token provided has expired");

/**
 * The token lacks the method's scope. CORE raises it through OAuthException, hence 401 for
 * OAuth tokens; the docs' 403 is for webhook tokens.
 */
export const insufficientScope = () =>
  new RestError(
    401,
    "insufficient_scope",
    "The request requires higher privileges than provided by the access token",
  );

/** A token of an app that has been uninstalled (CORE oauth/auth.php). */
export const applicationNotFound = () =>
  new RestError(401, "APPLICATION_NOT_FOUND", "Application not found");

/** The token's user is gone or deactivated (CORE oauth/auth.php). */
export const authorizationError = () =>
  new RestError(401, "authorization_error", "Unable to authorize user");

/**
 * The app's paid period is over. ⚠ Not on the docs' error-code pages; 402 with the usual
 * `{error, error_description}` body is the emulator's choice.
 */
export const paymentRequired = () => new RestError(402, "PAYMENT_REQUIRED", "Payment required");

/** Over the leaky-bucket limit. */
export const queryLimitExceeded = () =>
  new RestError(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");

/** Portal-side failure. */
export const internalError = () =>
  new RestError(500, "INTERNAL_SERVER_ERROR", "Internal server error");

/** AccessException: `Access denied!` plus an optional reason. */
export const accessDenied = (reason = "") =>
  new RestError(403, "ACCESS_DENIED", `Access denied!${reason ? ` ${reason}` : ""}`);

/** Bitrix\Main\ArgumentNullException as REST sees it. */
export const argumentNull = (name: string) =>
  new RestError(400, "ERROR_ARGUMENT", `Argument '${name}' is null or empty`, { argument: name });

/** Bitrix\Main\ArgumentException with a custom message. */
export const argumentError = (message: string, name: string) =>
  new RestError(400, "ERROR_ARGUMENT", message, { argument: name });

/** Bitrix\Main\ArgumentTypeException. */
export const argumentType = (name: string, type: string) =>
  new RestError(
    400,
    "ERROR_ARGUMENT",
    `The value of an argument '${name}' must be of type ${type}`,
    {
      argument: name,
    },
  );

/** A RestException with ERROR_CORE (telephony and most module errors). */
export const coreError = (message: string) => new RestError(400, "ERROR_CORE", message);

/** A RestException with its own code and the default 400. */
export const restError = (code: string, message: string) => new RestError(400, code, message);

/** A batch command beyond the 50th. */
export const batchLengthExceeded = () =>
  new RestError(400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded");

/** `batch` inside `batch` (rest 24.0.0+). */
export const batchMethodNotAllowed = () =>
  new RestError(405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage");
