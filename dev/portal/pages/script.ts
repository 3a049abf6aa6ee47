/**
 * The portal page's script: `client/main.ts` and its modules, bundled for the browser with
 * `deno bundle` the first time a page is served (about a quarter of a second, local files
 * only), then kept for the life of the process.
 *
 * @module
 */

const ENTRY = new URL("./client/main.ts", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

let bundled: Promise<string> | undefined;

/** The bundled page script (an ES module). A failed bundle is retried at the next call. */
export function pageScript(): Promise<string> {
  bundled ??= bundle().catch((err) => {
    bundled = undefined;
    throw err;
  });
  return bundled;
}

async function bundle(): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", ENTRY.pathname],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  if (code !== 0) throw new Error(`deno bundle of the portal page failed:\n${decode(stderr)}`);
  return decode(stdout);
}
