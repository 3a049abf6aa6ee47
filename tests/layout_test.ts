/**
 * The layout by runtime (README "Architecture"): what each folder may import and which
 * runtime's globals it may touch. Type-checking catches DOM use on the server and in `shared/`
 * (each folder has its own `lib` in its `deno.json`); this test catches the rest: imports across
 * the runtime line, and `Deno.` outside the server (the browser and shared folders keep
 * `deno.ns` in their libs only so that their tests beside them can call `Deno.test`).
 */
import { assertEquals } from "./support/assert.ts";

const ROOT = new URL("../", import.meta.url).pathname;

/** Folders whose code is bundled for the browser (or is pure and runs on both sides). */
const CLIENT_SIDE = ["lib/shared/", "lib/browser/", "client/", "islands/", "components/"];
/** Folders whose code must not reach into the browser's modules. */
const SERVER_SIDE = ["lib/server/", "routes/"];

/** A file's import specifiers: static, re-exports, dynamic imports and workers' URLs. */
export function importsOf(source: string): string[] {
  const found: string[] = [];
  const patterns = [
    /(?:^|[\s;])(?:import|export)\s[^'"]*?\sfrom\s*["']([^"']+)["']/g,
    /(?:^|[\s;])import\s*["']([^"']+)["']/g,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of source.matchAll(pattern)) found.push(match[1]);
  }
  return found;
}

/** Resolves a specifier against the importing file to a repository path ("" for packages). */
export function resolveSpecifier(file: string, specifier: string): string {
  if (specifier.startsWith("@/")) return specifier.slice(2);
  if (!specifier.startsWith(".")) return "";
  const parts = file.split("/").slice(0, -1);
  for (const segment of specifier.split("/")) {
    if (segment === "..") parts.pop();
    else if (segment !== ".") parts.push(segment);
  }
  return parts.join("/");
}

async function sourceFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const visit = async (path: string) => {
    for await (const entry of Deno.readDir(ROOT + path)) {
      const child = `${path}${entry.name}`;
      if (entry.isDirectory) await visit(`${child}/`);
      else if (/\.tsx?$/.test(entry.name)) files.push(child);
    }
  };
  await visit(dir);
  return files;
}

const isTest = (file: string) => /_test\.tsx?$/.test(file);
/** Strips comments so that prose about `Deno.` or `document` is not counted. */
const code = (source: string) =>
  source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");

const DOM_GLOBAL =
  /\b(document|window|navigator|localStorage|sessionStorage|HTMLElement|SharedWorker|RTCPeerConnection|AudioContext)\b/;

Deno.test("layout: nothing bundled for the browser imports the server's modules", async () => {
  const crossings: string[] = [];
  for (const dir of CLIENT_SIDE) {
    for (const file of await sourceFiles(dir)) {
      for (const spec of importsOf(await Deno.readTextFile(ROOT + file))) {
        if (resolveSpecifier(file, spec).startsWith("lib/server/")) {
          crossings.push(`${file} → ${spec}`);
        }
      }
    }
  }
  assertEquals(crossings, []);
});

Deno.test("layout: the server does not import the browser's modules", async () => {
  const crossings: string[] = [];
  for (const dir of SERVER_SIDE) {
    for (const file of await sourceFiles(dir)) {
      for (const spec of importsOf(await Deno.readTextFile(ROOT + file))) {
        const target = resolveSpecifier(file, spec);
        if (target.startsWith("lib/browser/") || target.startsWith("client/")) {
          crossings.push(`${file} → ${spec}`);
        }
      }
    }
  }
  assertEquals(crossings, []);
});

Deno.test("layout: shared code imports only shared code and packages", async () => {
  const crossings: string[] = [];
  for (const file of await sourceFiles("lib/shared/")) {
    for (const spec of importsOf(await Deno.readTextFile(ROOT + file))) {
      const target = resolveSpecifier(file, spec);
      const allowed = target.startsWith("lib/shared/") ||
        (isTest(file) && target.startsWith("tests/support/"));
      if (target && !allowed) crossings.push(`${file} → ${spec}`);
    }
  }
  assertEquals(crossings, []);
});

Deno.test("layout: only the server touches Deno.*, and shared code touches no DOM", async () => {
  const misuse: string[] = [];
  for (const dir of CLIENT_SIDE) {
    for (const file of await sourceFiles(dir)) {
      if (isTest(file) || file === "components/render.tsx") continue;
      const text = code(await Deno.readTextFile(ROOT + file));
      if (/\bDeno\./.test(text)) misuse.push(`${file}: Deno.*`);
      if (dir === "lib/shared/" && DOM_GLOBAL.test(text)) misuse.push(`${file}: DOM`);
    }
  }
  assertEquals(misuse, []);
});

/** The entry points that may open the services (tests may as well). */
const COMPOSERS = ["main.ts", "app.ts", "tasks/", "bench/"];

Deno.test("layout: only the entry points and tests import the composition root", async () => {
  const importers: string[] = [];
  for (const dir of ["lib/", "routes/", "components/", "islands/", "client/", "dev/"]) {
    for (const file of await sourceFiles(dir)) {
      if (isTest(file) || COMPOSERS.some((c) => file.startsWith(c))) continue;
      for (const spec of importsOf(await Deno.readTextFile(ROOT + file))) {
        if (resolveSpecifier(file, spec) === "lib/server/services.ts") {
          importers.push(`${file} → ${spec}`);
        }
      }
    }
  }
  assertEquals(importers, []);
});

Deno.test("layout: the app's modules import each other without cycles", async () => {
  const graph = new Map<string, string[]>();
  for (const dir of ["lib/", "routes/", "components/", "islands/", "client/"]) {
    for (const file of await sourceFiles(dir)) {
      if (isTest(file)) continue;
      const source = await Deno.readTextFile(ROOT + file);
      graph.set(file, importsOf(source).map((spec) => resolveSpecifier(file, spec)));
    }
  }
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (file: string) => {
    path.push(file);
    for (const target of graph.get(file) ?? []) {
      if (path.includes(target)) {
        cycles.push([...path.slice(path.indexOf(target)), target].join(" → "));
      } else if (!done.has(target)) visit(target);
    }
    path.pop();
    done.add(file);
  };
  for (const file of graph.keys()) if (!done.has(file)) visit(file);
  assertEquals(cycles, []);
});

Deno.test("layout: the import scanner sees every form of import", () => {
  const source = [
    'import { a } from "../lib/server/a.ts";',
    'import type { B } from "@/lib/server/b.ts";',
    'export { c } from "./c.ts";',
    'import "./side_effect.ts";',
    'const d = await import("../d.ts");',
    'import {\n  e,\n  f,\n} from "npm:e";',
  ].join("\n");
  assertEquals(importsOf(source).sort(), [
    "../d.ts",
    "../lib/server/a.ts",
    "./c.ts",
    "./side_effect.ts",
    "@/lib/server/b.ts",
    "npm:e",
  ]);
  assertEquals(resolveSpecifier("islands/Phone.tsx", "../lib/server/a.ts"), "lib/server/a.ts");
  assertEquals(resolveSpecifier("lib/browser/phone/x.ts", "../../server/y.ts"), "lib/server/y.ts");
  assertEquals(resolveSpecifier("x.ts", "zod"), "");
});
