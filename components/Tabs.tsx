import type { Signal } from "@preact/signals";

/** A tab bar bound to a signal holding the active tab's name. */
export function Tabs<T extends string>(
  { tabs, active }: { tabs: [name: T, label: string][]; active: Signal<T> },
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
          {label}
        </button>
      ))}
    </nav>
  );
}
