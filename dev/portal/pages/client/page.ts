/**
 * The page's shared basics: the configuration the server embedded (read once, when the script
 * starts), its texts, and lookup of elements by `data-testid`.
 *
 * @module
 */
import { type ClientConfig, CONFIG_ELEMENT_ID } from "./config.ts";

/** The configuration of this page. */
export const cfg: ClientConfig = JSON.parse(
  document.getElementById(CONFIG_ELEMENT_ID)?.textContent ?? "null",
);

/** The page's texts in its language. */
export const t = cfg.text;

/** The element with `data-testid="<id>"`, if any. */
export const byTestId = (id: string) =>
  document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** A command's params: whatever JSON the frame sent. */
// deno-lint-ignore no-explicit-any
export type Params = any;
