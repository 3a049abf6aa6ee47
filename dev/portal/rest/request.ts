/**
 * Reads a REST request like the portal: parameters from the query string and the body (JSON,
 * form-encoded with PHP brackets, or multipart), the token from `Authorization: Bearer`, `auth`
 * or `access_token` (CORE oauth/auth.php, in that order).
 *
 * @module
 */
import { parsePhpQuery } from "../php_query.ts";
import { isRecord } from "./params.ts";

/** Parameters without the token, and the token. */
export interface RestRequest {
  params: Record<string, unknown>;
  token: string | undefined;
}

async function bodyParams(req: Request): Promise<Record<string, unknown>> {
  if (req.method === "GET" || req.method === "HEAD") return {};
  const type = req.headers.get("content-type") ?? "";
  if (type.includes("multipart/form-data")) {
    const form = await req.formData();
    const pairs: [string, string][] = [];
    form.forEach((v, k) => {
      if (typeof v === "string") pairs.push([k, v]);
    });
    return parsePhpQuery(pairs);
  }
  const text = await req.text();
  if (text.trim() === "") return {};
  if (type.includes("application/json") || /^\s*[{[]/.test(text)) {
    try {
      const json: unknown = JSON.parse(text);
      return isRecord(json) ? json : {};
    } catch {
      return {};
    }
  }
  return parsePhpQuery(new URLSearchParams(text));
}

/** Parses a request into parameters and token. */
export async function readRestRequest(req: Request): Promise<RestRequest> {
  const url = new URL(req.url);
  const params: Record<string, unknown> = {
    ...parsePhpQuery(url.searchParams),
    ...await bodyParams(req),
  };
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.get("authorization") ?? "")?.[1];
  const fromParams = [params.auth, params.access_token].find((v) => typeof v === "string");
  delete params.auth;
  delete params.access_token;
  return { params, token: bearer ?? (fromParams as string | undefined) };
}
