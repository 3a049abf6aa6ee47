// deno-lint-ignore-file no-explicit-any
/**
 * Test harness for the phone engine: bundles (or reuses) the phone's browser entries, serves
 * them with tiny HTML pages from `Deno.serve` on 127.0.0.1, and drives `connectPhone()` in
 * browser pages: Chromium through Playwright, Firefox through puppeteer-core (WebDriver BiDi).
 * Both drivers' pages and frames take `evaluate(fn, arg)` alike; the few calls that differ
 * (init scripts) are in {@link BrowserPage} helpers here, so every test reads the same in
 * either browser.
 *
 * The page exposes `window.T` (see {@link PAGE_SCRIPT}): the client, recorded journal and DTMF
 * events, and small helpers, so tests stay short `evaluate` calls.
 *
 * @module
 */
import type { Frame as PlaywrightFrame, Page as PlaywrightPage } from "playwright-core";
import type { Frame as PuppeteerFrame, Page as PuppeteerPage } from "puppeteer-core";
import { SIP_DOMAIN, SIP_PASSWORD } from "../kamailio/kamailio.ts";
import type { CallInfo, MediaStats, PhoneSnapshot } from "../../lib/browser/phone/client.ts";
import { waitFor } from "../support/wait.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ENTRIES = ["client/sip_worker.ts", "client/phone_tab.ts"];
const SOURCE_DIRS = ["lib/browser/phone"];

async function newestSourceMtime(): Promise<number> {
  let newest = 0;
  const visit = async (path: string) => {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      for await (const e of Deno.readDir(path)) await visit(`${path}/${e.name}`);
    } else newest = Math.max(newest, info.mtime?.getTime() ?? 0);
  };
  for (const p of [...ENTRIES, ...SOURCE_DIRS]) await visit(`${ROOT}${p}`);
  return newest;
}

async function bundle(entry: string, out: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--platform", "browser", "--sourcemap", "inline", "-o", out, entry],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) throw new Error(`deno bundle ${entry}: ${new TextDecoder().decode(stderr)}`);
}

/**
 * A directory holding `sip_worker.js` and `phone_tab.js`: `static/build/` when its bundles are
 * newer than the sources (after `deno task build`), else a fresh build under `.tmp/`.
 */
export async function phoneBundles(): Promise<string> {
  const newest = await newestSourceMtime();
  const built = `${ROOT}static/build`;
  try {
    const ok = await Promise.all(
      ["sip_worker.js", "phone_tab.js"].map(async (f) =>
        ((await Deno.stat(`${built}/${f}`)).mtime?.getTime() ?? 0) > newest
      ),
    );
    if (ok.every(Boolean)) return built;
  } catch { /* not built */ }
  const dir = `${ROOT}.tmp/phone-build/${newest}`;
  try {
    await Deno.stat(`${dir}/phone_tab.js`);
    return dir;
  } catch { /* build it */ }
  const staging = `${dir}.${crypto.randomUUID()}`;
  await Deno.mkdir(staging, { recursive: true });
  await Promise.all(
    ENTRIES.map((e) =>
      bundle(e, `${staging}/${e.replace(/^client\//, "").replace(/\.ts$/, ".js")}`)
    ),
  );
  try {
    await Deno.rename(staging, dir);
  } catch {
    await Deno.remove(staging, { recursive: true }).catch(() => {}); // a parallel run won
  }
  // Drop builds of older sources (keep this one and any being staged right now).
  for await (const e of Deno.readDir(`${ROOT}.tmp/phone-build`)) {
    const age = Number(e.name.split(".")[0]);
    if (!(age < newest)) continue;
    await Deno.remove(`${ROOT}.tmp/phone-build/${e.name}`, { recursive: true }).catch(() => {});
  }
  return dir;
}

/** Script of the test page: loads the phone module and exposes helpers as `window.T`. */
export const PAGE_SCRIPT = `
const T = window.T = { journal: [], dtmf: [], pushes: [], logs: [], errors: [], snapshots: 0, phone: null, echo: false };
T.module = import("/build/phone_tab.js");
T.connect = async (opts = {}) => {
  const m = await T.module;
  const phone = await m.connectPhone(opts);
  T.phone = phone;
  phone.stateChange.addListener(() => T.snapshots++);
  phone.dtmfReceived.addListener((e) => T.dtmf.push(e));
  phone.push.addListener((e) => T.pushes.push(e));
  phone.log.addListener((e) => { T.logs.push(e.level + " " + e.message); if (T.echo) console.log("[engine] " + e.level + " " + e.message); });
  if (opts.journal !== false) phone.onJournal((e) => { T.journal.push(e); });
  return { host: phone.host, tabId: phone.tabId };
};
T.state = () => T.phone.state;
T.call = (id) => T.phone.calls.find((c) => c.id === id);
T.waitFor = (fnSource, timeoutMs) => T.phone.waitFor(new Function("s", "return (" + fnSource + ")(s)"), timeoutMs);
addEventListener("error", (e) => T.errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => T.errors.push(String(e.reason && e.reason.message || e.reason)));
`;

function html(body: string): Response {
  return new Response(`<!doctype html><meta charset="utf-8"><title>phone test</title>${body}`, {
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}

/** The page server: `/phone.html`, `/top.html?src=<url>` (iframe host), `/build/*`. */
export interface PageServer extends AsyncDisposable {
  readonly port: number;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  close(): Promise<void>;
}

/**
 * Serves the harness pages and the bundles in `bundleDir` on 127.0.0.1:0; `routes` answer
 * paths of their own first (an app's API on the pages' origin, for `EventSource`).
 */
export function startPageServer(
  bundleDir: string,
  routes: Record<string, (req: Request) => Response | Promise<Response>> = {},
): PageServer {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const route = routes[url.pathname];
    if (route) return await route(req);
    if (url.pathname === "/phone.html") {
      const response = html(`<body><script type="module">${PAGE_SCRIPT}</script></body>`);
      // ?nomic: the page may not use the microphone (as in an iframe without allow="microphone").
      if (url.searchParams.has("nomic")) {
        response.headers.set("permissions-policy", "microphone=()");
      }
      return response;
    }
    if (url.pathname === "/top.html") {
      const src = (url.searchParams.get("src") ?? "").replace(/"/g, "");
      return html(
        `<body><iframe id="phone" src="${src}" allow="microphone; autoplay; speaker-selection"></iframe></body>`,
      );
    }
    const m = url.pathname.match(/^\/build\/([a-z_]+\.js)$/);
    if (m) {
      try {
        const body = await Deno.readFile(`${bundleDir}/${m[1]}`);
        return new Response(body, {
          headers: {
            "content-type": "text/javascript; charset=utf-8",
            "cache-control": "no-store",
          },
        });
      } catch { /* 404 below */ }
    }
    return new Response("not found", { status: 404 });
  });
  const port = server.addr.port;
  const close = () => server.shutdown();
  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Account of a test user on the test Kamailio. */
export function account(user: string, wsUrl: string, password = SIP_PASSWORD) {
  return {
    wsUrl,
    sipUri: `sip:${user}@${SIP_DOMAIN}`,
    authUser: user,
    password,
    displayName: user,
    iceServers: [],
  };
}

/** Register options that keep tests fast. */
export const FAST = {
  expiresSec: 120,
  iceGatheringTimeoutMs: 300,
  reconnectMinDelayMs: 200,
  reconnectMaxDelayMs: 1000,
};

/** A browser tab from either driver. */
export type BrowserPage = PlaywrightPage | PuppeteerPage;
/** A tab or a frame from either driver. */
export type Target = BrowserPage | PlaywrightFrame | PuppeteerFrame;

/** What the harness needs of a target: `evaluate(fn, arg)`, which both drivers share. */
interface Evaluates {
  evaluate(fn: (arg: any) => unknown, arg?: unknown): Promise<any>;
}

function evaluate<R, A>(target: Target, fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
  return (target as unknown as Evaluates).evaluate(fn, arg);
}

/** True for a Firefox tab (puppeteer-core), false for a Chromium one (Playwright). */
export function isPuppeteer(page: BrowserPage): page is PuppeteerPage {
  return "evaluateOnNewDocument" in page;
}

/** Runs `fn` in every document the tab loads from now on, before its scripts. */
export async function addInitScript(page: BrowserPage, fn: () => void): Promise<void> {
  if (isPuppeteer(page)) await page.evaluateOnNewDocument(fn);
  else await page.addInitScript(fn);
}

function logPageErrors(page: BrowserPage, name: string): void {
  (page as PlaywrightPage).on("pageerror", (e: Error) => {
    console.error(`[${name}] page error: ${e.message}`);
  });
  if (Deno.env.get("PHONE_VERBOSE")) {
    (page as PlaywrightPage).on("console", (m: { text(): string }) => {
      console.log(`[${name}] ${m.text()}`);
    });
  }
}

/**
 * Takes a tab away mid-call the hardest way its driver allows: Chromium's renderer crashes
 * (no `pagehide`, as when a tab's process dies); Firefox's tab closes without `beforeunload`
 * (WebDriver BiDi cannot crash a content process).
 */
export async function killTab(page: BrowserPage): Promise<void> {
  if (isPuppeteer(page)) {
    await page.close({ runBeforeUnload: false }).catch(() => {});
    return;
  }
  const cdp = await page.context().newCDPSession(page);
  cdp.send("Page.crash").catch(() => {});
}

/** One phone page (a tab or an iframe) driven from the test. */
export class PhonePage {
  readonly target: Target;
  readonly name: string;

  constructor(target: Target, name: string) {
    this.target = target;
    this.name = name;
  }

  /** Opens `/phone.html` in `page` and connects the phone. */
  static async open(
    page: BrowserPage,
    origin: string,
    name: string,
    options: Record<string, unknown> & { query?: string } = {},
  ): Promise<PhonePage> {
    logPageErrors(page, name);
    if (Deno.env.get("PHONE_VERBOSE")) {
      await addInitScript(page, () => {
        addEventListener("DOMContentLoaded", () => ((globalThis as any).T.echo = true));
      });
    }
    await page.goto(`${origin}/phone.html${options.query ?? ""}`);
    const p = new PhonePage(page, name);
    await p.connect(options);
    return p;
  }

  /**
   * Opens the phone in a cross-site iframe: the top page is on 127.0.0.1, the frame on
   * `localhost` (another site), as Bitrix24 embeds apps.
   */
  static async openInCrossSiteFrame(
    page: BrowserPage,
    port: number,
    name: string,
    options: Record<string, unknown> = {},
  ): Promise<PhonePage> {
    logPageErrors(page, name);
    const src = encodeURIComponent(`http://localhost:${port}/phone.html`);
    await page.goto(`http://127.0.0.1:${port}/top.html?src=${src}`);
    const frames = (): (PlaywrightFrame | PuppeteerFrame)[] => page.frames();
    const frame = await waitFor(
      "phone frame",
      () => Promise.resolve(frames().find((f) => f.url().includes("/phone.html"))),
    );
    await waitFor(
      "phone script",
      () => evaluate(frame, () => (globalThis as any).T !== undefined),
    );
    const p = new PhonePage(frame, name);
    await p.connect(options);
    return p;
  }

  /** Evaluates `fn(arg)` in the page (either driver). */
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    return evaluate(this.target, fn, arg);
  }

  /** Connects the phone client in the page. */
  connect(options: Record<string, unknown> = {}): Promise<{ host: string; tabId: string }> {
    return evaluate(this.target, (o) => (globalThis as any).T.connect(o), options);
  }
  #run<R>(fn: (phone: any, arg: any) => R | Promise<R>, arg?: unknown): Promise<R> {
    return evaluate(
      this.target,
      ([source, a]) =>
        new Function("phone", "arg", `return (${source})(phone, arg)`)(
          (globalThis as any).T.phone,
          a,
        ),
      [fn.toString(), arg] as const,
    ) as Promise<R>;
  }

  /** Runs `fn(phone, arg)` in the page. */
  run<R>(fn: (phone: any, arg: any) => R | Promise<R>, arg?: unknown): Promise<R> {
    return this.#run(fn, arg);
  }

  register(user: string, wsUrl: string, password?: string): Promise<PhoneSnapshot> {
    return this.run((p, a) => p.register(a.account, a.options), {
      account: account(user, wsUrl, password),
      options: FAST,
    });
  }

  state(): Promise<PhoneSnapshot> {
    return this.run((p) => p.state);
  }

  /** Waits in the page until `predicate(snapshot)` (source is sent as text). */
  waitFor(predicate: (s: PhoneSnapshot) => boolean, timeoutMs = 10_000): Promise<PhoneSnapshot> {
    return evaluate(
      this.target,
      ([src, ms]) => (globalThis as any).T.waitFor(src, ms),
      [predicate.toString(), timeoutMs] as const,
    );
  }

  /** Waits for a call in `state` (optionally with a direction) and returns it. */
  async waitForCall(
    state: string,
    direction?: "inbound" | "outbound",
    timeoutMs = 10_000,
  ): Promise<CallInfo> {
    const snap: PhoneSnapshot = await evaluate(
      this.target,
      ([st, dir, ms]) =>
        (globalThis as any).T.phone.waitFor(
          (s: any) => s.calls.some((c: any) => c.state === st && (!dir || c.direction === dir)),
          ms,
        ),
      [state, direction ?? "", timeoutMs] as const,
    );
    return snap.calls.find((c) => c.state === state && (!direction || c.direction === direction))!;
  }

  call(number: string): Promise<CallInfo> {
    return this.run((p, n) => p.call(n), number);
  }

  stats(callId: string): Promise<MediaStats | null> {
    return this.run((p, id) => p.mediaStats(id), callId);
  }
  journal(): Promise<any[]> {
    return evaluate(this.target, () => (globalThis as any).T.journal);
  }
  dtmfReceived(): Promise<any[]> {
    return evaluate(this.target, () => (globalThis as any).T.dtmf);
  }
}

/**
 * Waits until inbound audio bytes grow on both pages for `callIds` (media flowing both ways)
 * and returns the last stats.
 */
export async function audioFlowing(
  a: PhonePage,
  aCall: string,
  b: PhonePage,
  bCall: string,
  timeoutMs = 10_000,
): Promise<{ a: MediaStats; b: MediaStats }> {
  const first = { a: await a.stats(aCall), b: await b.stats(bCall) };
  return await waitFor(`audio both ways (${a.name} ${aCall} / ${b.name} ${bCall})`, async () => {
    const sa = await a.stats(aCall);
    const sb = await b.stats(bCall);
    if (!sa || !sb) return undefined;
    const grewA = sa.bytesReceived > (first.a?.bytesReceived ?? 0) + 1000;
    const grewB = sb.bytesReceived > (first.b?.bytesReceived ?? 0) + 1000;
    return grewA && grewB ? { a: sa, b: sb } : undefined;
  }, { timeoutMs: timeoutMs, intervalMs: 200 });
}
