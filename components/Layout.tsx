import type { ComponentChildren } from "preact";
import type { Lang } from "../lib/shared/i18n.ts";

/** The HTML shell of every page: styles, the islands boot script, the language. */
export function Layout(
  { title, lang, children, scripts = ["/static/build/main.js"] }: {
    title: string;
    lang: Lang;
    children: ComponentChildren;
    /** Module scripts to load (the islands boot by default; none for tiny pages). */
    scripts?: string[];
  },
) {
  return (
    <html lang={lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{title}</title>
        <link rel="stylesheet" href="/static/style.css" />
        {scripts.map((src) => <script type="module" src={src} key={src}></script>)}
      </head>
      <body>{children}</body>
    </html>
  );
}
