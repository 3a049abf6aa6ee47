/**
 * Refuses requests whose method the app does not know with 405 before anything else sees them:
 * the method is a metrics label and a log field, and a client inventing a new long method per
 * request must not grow either.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The methods the app answers; anything else gets 405. */
export const KNOWN_METHODS: readonly string[] = [
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
];

/** `method` when the app knows it, else `other` (for labels and logs). */
export function methodLabel(method: string): string {
  return KNOWN_METHODS.includes(method) ? method : "other";
}

/** Answers 405 (JSON, with `Allow`) for a method not in {@link KNOWN_METHODS}. */
export function knownMethods(): MiddlewareHandler {
  return async function knownMethods(c, next) {
    if (KNOWN_METHODS.includes(c.req.method)) return await next();
    return c.json(
      { error: { code: "method_not_allowed", message: "Method not allowed" } },
      405,
      {
        "Allow": KNOWN_METHODS.join(", "),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
      },
    );
  };
}
