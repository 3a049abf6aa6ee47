/**
 * Security headers, built once from the config. Documents (pages, scripts, worker scripts, whose
 * Content-Security-Policy also governs the SharedWorker that opens the PBX WebSocket) get the
 * full policy that lets Bitrix24's portals frame the app; API and probe answers get the short
 * policy OWASP recommends for APIs. Only headers current browsers act on are sent: each header
 * costs the runtime a validation pass on every response.
 *
 * @module
 */
import type { MiddlewareHandler } from "hono";

/** The settings the policy depends on. */
export interface SecurityHeaderOptions {
  /** Origins allowed to frame the app's pages (Bitrix24 portals). */
  frameAncestors: readonly string[];
  /** Also allow `ws:`/`http:` connections (a development portal on plain HTTP). */
  allowInsecurePortals: boolean;
}

/** Header lists for the two kinds of response. */
export interface SecurityHeaders {
  document: readonly (readonly [string, string])[];
  api: readonly (readonly [string, string])[];
}

const COMMON: readonly (readonly [string, string])[] = [
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["Referrer-Policy", "strict-origin-when-cross-origin"],
];

/** Paths answered with JSON or plain text only. */
const API_PREFIX = "/api/";
const PROBES = new Set(["/healthz", "/readyz", "/metrics"]);

/** Builds both header lists once. */
export function securityHeaderLists(options: SecurityHeaderOptions): SecurityHeaders {
  const insecure = options.allowInsecurePortals ? " ws: http:" : "";
  const policy = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: https:",
    `connect-src 'self' wss: https:${insecure}`,
    "media-src 'self' blob:",
    "worker-src 'self'",
    `frame-ancestors ${["'self'", ...options.frameAncestors].join(" ")}`,
    "base-uri 'none'",
    "form-action 'self'",
  ].join("; ");
  return {
    document: [["Content-Security-Policy", policy], ...COMMON],
    api: [["Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"], ...COMMON],
  };
}

/** Whether `path` answers JSON or text (API routes and probes), not a document. */
export function isApiPath(path: string): boolean {
  return path.startsWith(API_PREFIX) || PROBES.has(path);
}

/**
 * Sets the security headers on every response: the document policy on pages and scripts, the
 * API policy on JSON and probe answers (the lists are built once, here).
 */
export function securityHeaders(options: SecurityHeaderOptions): MiddlewareHandler {
  const lists = securityHeaderLists(options);
  return async function securityHeaders(c, next) {
    await next();
    // Set on the response's own headers: `c.header()` after the handler copies the response
    // each time, and headers prepared before it are copied into every response.
    const headers = c.res.headers;
    for (const [name, value] of isApiPath(c.req.path) ? lists.api : lists.document) {
      headers.set(name, value);
    }
  };
}
