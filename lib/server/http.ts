/**
 * Reading request bodies for routes: zod parsing of JSON and bracket-form bodies that throws
 * `BadRequestError` (mapped to a 400 JSON error in app.ts). The request state and the route
 * shape are in state.ts.
 *
 * @module
 */
import type { Context } from "hono";
import type { z } from "zod";
import { BadRequestError } from "./errors.ts";
import { type FormValue, parseBracketForm } from "./form.ts";

function issuesOf(error: z.ZodError) {
  return error.issues.slice(0, 20).map((i) => ({ path: i.path.join("."), message: i.message }));
}

/** Parses `value` with `schema`, throwing a 400 with the field issues on failure. */
export function parseWith<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw new BadRequestError("invalid request", issuesOf(result.error));
  return result.data;
}

/** Reads the JSON body and parses it with `schema` (malformed JSON → 400). */
export async function parseJsonBody<T extends z.ZodType>(
  c: Context,
  schema: T,
): Promise<z.output<T>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new BadRequestError("body must be JSON");
  }
  return parseWith(schema, body);
}

/** Reads a form body (urlencoded or multipart) into nested bracket-key objects. */
export async function readBracketForm(c: Context): Promise<Record<string, FormValue>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) {
    throw new BadRequestError("body must be a form");
  }
  let form: FormData;
  try {
    form = await c.req.formData();
  } catch {
    throw new BadRequestError("malformed form body");
  }
  return parseBracketForm(form.entries());
}

/** Reads a JSON or form body into an object (Bitrix24 posts some callbacks either way). */
export async function readFormOrJson(c: Context): Promise<unknown> {
  if (/^application\/json/i.test(c.req.header("content-type") ?? "")) {
    return await c.req.json().catch(() => {
      throw new BadRequestError("body must be JSON");
    });
  }
  return await readBracketForm(c);
}

/**
 * A bracket-key form body, or undefined when the body is not a readable form: for callers that
 * authenticate from the body and answer 401 before saying anything about its shape.
 */
export async function readFormIfAny(
  c: Context,
): Promise<Record<string, FormValue> | undefined> {
  try {
    return await readBracketForm(c);
  } catch (err) {
    if (err instanceof BadRequestError) return undefined;
    throw err;
  }
}
