/**
 * The fields Bitrix24 sends when it loads an app page in a frame: POST form fields
 * (`AUTH_ID`, `member_id`, `PLACEMENT`…) and query parameters (`DOMAIN`, `LANG`…). All
 * untrusted: they select a language and tell the page whom to authenticate, nothing more.
 *
 * @module
 */
import type { Context } from "hono";
import { z } from "zod";
import { readBracketForm } from "./http.ts";
import { type Lang, pickLang } from "../shared/i18n.ts";

const field = z.string().max(2000).optional().catch(undefined);

const placementFieldsSchema = z.object({
  AUTH_ID: field,
  AUTH_EXPIRES: field,
  REFRESH_ID: field,
  member_id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/).optional().catch(undefined),
  status: field,
  PLACEMENT: field,
  PLACEMENT_OPTIONS: field,
  DOMAIN: z.string().regex(/^[a-z0-9.-]{1,253}(:\d{1,5})?$/i).optional().catch(undefined),
  PROTOCOL: z.enum(["0", "1"]).optional().catch(undefined),
  LANG: z.string().regex(/^[a-z]{2}$/i).optional().catch(undefined),
  APP_SID: field,
  /** The portal's OAuth server (newer templates); only an allow-listed host is ever kept. */
  SERVER_ENDPOINT: z.string().max(300).optional().catch(undefined),
  /** Newer portal templates only; readable by whoever opened the page. */
  APPLICATION_TOKEN: field,
});

/** A page load's placement fields (invalid ones dropped) and the UI language. */
export type PlacementRequest = z.output<typeof placementFieldsSchema> & { lang: Lang };

/** The raw fields of a page load: query parameters, overridden by the POST form. */
export async function readPageFields(c: Context): Promise<Record<string, unknown>> {
  const values: Record<string, unknown> = { ...c.req.query() };
  if (c.req.method === "POST" && /form/i.test(c.req.header("content-type") ?? "")) {
    Object.assign(values, await readBracketForm(c));
  }
  return values;
}

/** Reads the placement fields of a page load (invalid ones dropped) and the UI language. */
export async function readPlacement(c: Context): Promise<PlacementRequest> {
  const fields = placementFieldsSchema.parse(await readPageFields(c));
  return { ...fields, lang: pickLang(fields.LANG) };
}
