/**
 * Bundle sizes (printed, never asserted): what the PAGE_BACKGROUND_WORKER page loads before
 * `onload` (its HTML and boot script; target ≤ 15 KB gzip), and the gzip size of every bundle
 * loaded after it (the SIP worker, the phone module, the background script, the islands).
 * Run `deno task build` first.
 *
 * ```sh
 * deno task bench:bundles
 * ```
 *
 * @module
 */
// deno-lint-ignore-file no-console
import { createApp } from "../app.ts";
import { parseConfig } from "../lib/server/config.ts";
import { openServices } from "../lib/server/services.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { log } from "../lib/server/log.ts";

const BUILD = new URL("../static/build/", import.meta.url);
const TARGET_BEFORE_ONLOAD = 15 * 1024;

async function gzipSize(bytes: Uint8Array<ArrayBuffer>): Promise<number> {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

// The background page as the app serves it.
log.setLevel("error");
const services = await openServices(
  parseConfig({ DATABASE_URL: "pglite:memory", ENCRYPTION_KEY: generateKey(), LOG_LEVEL: "error" }),
);
const page = await createApp(services).request("/placement/background", { method: "POST" });
const html = new Uint8Array(await page.arrayBuffer());
await services.close();
const scripts = [...new TextDecoder().decode(html).matchAll(/src="\/static\/build\/([^"]+)"/g)]
  .map((m) => m[1]);

const rows: [string, number, number][] = [[
  "background page HTML",
  html.length,
  await gzipSize(html),
]];
for (const name of scripts) {
  const bytes = await Deno.readFile(new URL(name, BUILD));
  rows.push([`${name} (before onload)`, bytes.length, await gzipSize(bytes)]);
}
const beforeOnload = rows.reduce((sum, [, , gz]) => sum + gz, 0);

const after: [string, number, number][] = [];
for await (const entry of Deno.readDir(BUILD)) {
  if (!entry.name.endsWith(".js") || scripts.includes(entry.name)) continue;
  const bytes = await Deno.readFile(new URL(entry.name, BUILD));
  after.push([entry.name, bytes.length, await gzipSize(bytes)]);
}
after.sort((a, b) => b[2] - a[2]);

console.log("file".padEnd(44), "raw".padStart(10), "gzip".padStart(10));
for (const [name, raw, gz] of [...rows, ...after]) {
  console.log(name.padEnd(44), kb(raw).padStart(10), kb(gz).padStart(10));
}
console.log(
  `\nbefore onload of the background worker page: ${kb(beforeOnload)} gzip ` +
    `(target ≤ ${kb(TARGET_BEFORE_ONLOAD)}: ${beforeOnload <= TARGET_BEFORE_ONLOAD ? "✓" : "✗"})`,
);
