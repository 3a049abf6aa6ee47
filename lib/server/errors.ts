/**
 * Typed application errors. Domain code throws these; other libraries' errors are mapped
 * into them in one place (foreign_errors.ts); `app.ts` turns them into HTTP in one place
 * (`toErrorBody`), so no handler builds its own error response and no stack trace ever
 * reaches a client.
 *
 * @module
 */
import type { ApiErrorCode, ErrorBody } from "../shared/api/errors.ts";

/** Base of every error that carries an HTTP status and a stable machine-readable code. */
export class AppError extends Error {
  constructor(
    /** HTTP status sent to the client. */
    readonly status: 400 | 401 | 403 | 404 | 413 | 429 | 500 | 502 | 503,
    /** Stable code for clients, e.g. `bad_request`, `forbidden`. */
    readonly code: ApiErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Malformed or invalid input (400). */
export class BadRequestError extends AppError {
  constructor(message = "Bad request", readonly details?: unknown) {
    super(400, "bad_request", message);
  }
}

/** Missing or invalid credentials (401). */
export class UnauthorizedError extends AppError {
  /** `options.cause`: why, for the tests and logs (the answer carries only `message`). */
  constructor(message = "Unauthorized", options?: ErrorOptions) {
    super(401, "unauthorized", message, options);
  }
}

/** Authenticated but not allowed (403). */
export class ForbiddenError extends AppError {
  constructor(message = "Forbidden") {
    super(403, "forbidden", message);
  }
}

/** The addressed thing does not exist (404). */
export class NotFoundError extends AppError {
  constructor(message = "Not found") {
    super(404, "not_found", message);
  }
}

/** Request body over the limit (413). */
export class PayloadTooLargeError extends AppError {
  constructor(message = "Request body too large") {
    super(413, "payload_too_large", message);
  }
}

/** Too many requests from one client or portal (429). */
export class RateLimitedError extends AppError {
  constructor(message = "Too many requests") {
    super(429, "rate_limited", message);
  }
}

/** An upstream service (Bitrix24, Vault) answered with an error we cannot hide (502). */
export class UpstreamError extends AppError {
  constructor(readonly service: string, message: string, options?: ErrorOptions) {
    super(502, "upstream_error", message, options);
  }
}

/** A dependency (database, secrets) is not available right now (503). */
export class UnavailableError extends AppError {
  constructor(message = "Service unavailable", options?: ErrorOptions) {
    super(503, "unavailable", message, options);
  }
}

/** Maps any thrown value to a status and a safe JSON body (internal errors get a generic text). */
export function toErrorBody(err: unknown): { status: AppError["status"]; body: ErrorBody } {
  if (err instanceof AppError) {
    const details = err instanceof BadRequestError ? err.details : undefined;
    return {
      status: err.status,
      body: { error: { code: err.code, message: err.message, ...(details ? { details } : {}) } },
    };
  }
  return { status: 500, body: { error: { code: "internal", message: "Internal error" } } };
}
