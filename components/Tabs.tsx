import type { Signal } from "@preact/signals";
import { type Lang, t, type TextKey } from "../lib/shared/i18n.ts";

/** A tab bar bound to a signal holding the active tab's name; labels in the page's language. */
export function Tabs<T extends string>(
  { lang, tabs, active }: { lang: Lang; tabs: [name: T, label: TextKey][]; active: Signal<T> },
) {
  return (
    <nav class="tabs" role="tablist">
      {tabs.map(([name, label]) => (
        <button
          type="button"
          role="tab"
          key={name}
          aria-selected={active.value === name}
          class={active.value === name ? "tab active" : "tab"}
          onClick={() => active.value = name}
        >
          {t(lang, label)}
        </button>
      ))}
    </nav>
  );
}
