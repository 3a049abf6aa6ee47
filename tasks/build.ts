/**
 * Builds the browser bundles into `static/build/` with `deno bundle`: the islands entry
 * (code-split, one chunk per island) and the standalone entries (the SIP SharedWorker and
 * the page-side phone modules), each minified with a linked source map.
 *
 * @module
 */

/** Entries bundled code-split together: the islands boot and what it imports lazily. */
const SPLIT_ENTRIES = ["client/main.ts"];

/** Entries bundled alone (workers must be a single file). */
const STANDALONE_ENTRIES: string[] = [
  "client/sip_worker.ts",
  "client/phone_tab.ts",
  "client/background_boot.ts",
  "client/background.ts",
  "client/notify_sw.ts",
];

async function bundle(args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--minify", "--sourcemap", "linked", ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno bundle ${args.join(" ")} failed:\n${new TextDecoder().decode(stderr)}`);
  }
}

const root = new URL("../", import.meta.url);
Deno.chdir(root);
await Deno.remove("static/build", { recursive: true }).catch(() => {});
await bundle(["--code-splitting", "--outdir", "static/build", ...SPLIT_ENTRIES]);
await Promise.all(
  STANDALONE_ENTRIES.map((entry) => {
    const name = entry.replace(/^client\//, "").replace(/\.ts$/, ".js");
    return bundle(["-o", `static/build/${name}`, entry]);
  }),
);
