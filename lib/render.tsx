/**
 * Server-side rendering of Preact pages to HTML responses.
 *
 * @module
 */
import type { Context } from "hono";
import type { VNode } from "preact";
import { renderToString } from "preact-render-to-string";

/** Renders `page` as a full HTML document. Pages are never cached (they carry frame auth). */
export function render(c: Context, page: VNode, status: 200 | 400 | 401 | 403 | 404 | 500 = 200) {
  c.header("Cache-Control", "no-store");
  return c.html("<!DOCTYPE html>" + renderToString(page), status);
}
