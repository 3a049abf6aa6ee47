import type { ComponentType } from "preact";

/** Server-side island marker: renders the component and the props the browser hydrates with. */
export function Island<P extends Record<string, unknown>>(
  { name, component: Component, props }: { name: string; component: ComponentType<P>; props: P },
) {
  return (
    <div data-island={name} data-props={JSON.stringify(props)} class="island">
      <Component {...props} />
    </div>
  );
}
