/**
 * One API request as the handlers see it: the state, the API path after `/v1/`, the method
 * folded the way Vault folds it (PUT is POST, `?list=true` is LIST) and the JSON body.
 *
 * @module
 */
import { fail } from "./reply.ts";
import type { VaultState } from "./state.ts";

/** A request to one API handler. */
export interface Ctx {
  state: VaultState;
  req: Request;
  url: URL;
  method: "GET" | "POST" | "DELETE" | "LIST" | "PATCH";
  /** The API path after `/v1/`. */
  path: string;
  body: Record<string, unknown>;
}

/** Reads the request into a `Ctx`: 405 for an unknown method, 400 for a body not a JSON object. */
export async function readCtx(
  state: VaultState,
  req: Request,
  url: URL,
  path: string,
): Promise<Ctx> {
  return { state, req, url, path, method: methodOf(req, url), body: await bodyOf(req) };
}

/** Runs `run` when the request's method is one of `methods`, else answers 405. */
export function only(ctx: Ctx, methods: Ctx["method"][], run: () => Response): Response {
  if (!methods.includes(ctx.method)) fail(405, "unsupported operation");
  return run();
}

function methodOf(req: Request, url: URL): Ctx["method"] {
  const m = req.method.toUpperCase();
  if (m === "LIST" || (m === "GET" && url.searchParams.get("list") === "true")) return "LIST";
  if (m === "PUT" || m === "POST") return "POST";
  if (m === "GET" || m === "HEAD") return "GET";
  if (m === "DELETE" || m === "PATCH") return m;
  fail(405, "unsupported operation");
}

async function bodyOf(req: Request): Promise<Record<string, unknown>> {
  const text = await req.text();
  if (!text.trim()) return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    fail(400, "error parsing JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) fail(400, "error parsing JSON");
  return body as Record<string, unknown>;
}
