/**
 * Browser entry: hydrates every `[data-island]` with its lazily loaded component.
 *
 * @module
 */
import { h, hydrate } from "preact";
import { islands } from "../islands/registry.ts";

async function hydrateIsland(el: HTMLElement): Promise<void> {
  const load = islands[el.dataset.island ?? ""];
  if (!load) return;
  const { default: Component } = await load();
  hydrate(h(Component, JSON.parse(el.dataset.props ?? "{}")), el);
  el.dataset.hydrated = "1";
}

await Promise.all(
  Array.from(document.querySelectorAll<HTMLElement>("[data-island]"), hydrateIsland),
);
