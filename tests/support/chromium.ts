/**
 * Launches the system Chromium (`/usr/bin/chromium`, Debian package) headless through
 * playwright-core, with fake media devices (a beeping microphone, auto-accepted permission
 * prompts), autoplay allowed and WebRTC allowed on loopback.
 *
 * One browser process can host several isolated parties: each `newContext()` is its own
 * profile (own SharedWorkers, Web Locks, storage), which keeps the number of Chromium
 * processes low on small CI machines.
 *
 * @example
 * ```ts
 * await using browser = await launchChromium();
 * const alice = await browser.newContext();
 * const page = await alice.newPage();
 * ```
 *
 * @module
 */
import { type Browser, type BrowserContext, chromium, type LaunchOptions } from "playwright-core";

/** The Chromium binary (override with `CHROMIUM`). */
export const CHROMIUM_BIN = Deno.env.get("CHROMIUM") ?? "/usr/bin/chromium";

/** Flags every test browser gets. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  "--allow-loopback-in-peer-connection",
  "--autoplay-policy=no-user-gesture-required",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-extensions",
  "--no-first-run",
  "--no-default-browser-check",
  // Background tabs must keep timers and audio running like foreground ones in tests.
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/** True when the Chromium binary exists. */
export function chromiumAvailable(): boolean {
  try {
    return Deno.statSync(CHROMIUM_BIN).isFile;
  } catch {
    return false;
  }
}

/** Options for {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** Extra command-line flags. */
  args?: string[];
  /**
   * The browser's own autoplay policy instead of "no user gesture required" (frames that are
   * not granted `autoplay` then cannot play sound).
   */
  realAutoplay?: boolean;
  /** Extra Playwright launch options. */
  launch?: LaunchOptions;
}

/** A launched browser; disposing closes every context and the process. */
export interface TestBrowser extends AsyncDisposable {
  readonly browser: Browser;
  /** A fresh isolated profile (incognito-like context). */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Starts headless Chromium with {@link CHROMIUM_ARGS}. */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    args: [
      ...CHROMIUM_ARGS.filter((a) => !(options.realAutoplay && a.startsWith("--autoplay-policy"))),
      ...(options.args ?? []),
    ],
    ...options.launch,
  });
  return wrap(browser);
}

/** Options for {@link launchPersistentChromium}. */
export interface LaunchPersistentOptions extends LaunchChromiumOptions {
  /**
   * Preferences written into the fresh profile before launch (merged into `Default/Preferences`),
   * e.g. `{ profile: { cookie_controls_mode: 1 } }` to block third-party cookies.
   */
  preferences?: Record<string, unknown>;
}

/** A persistent-profile browser: one context (the profile), removed from disk on close. */
export interface PersistentTestBrowser extends AsyncDisposable {
  readonly context: BrowserContext;
  readonly userDataDir: string;
  close(): Promise<void>;
}

/**
 * Starts Chromium with a fresh on-disk profile. Needed when the test depends on profile
 * preferences (cookie blocking), which incognito-like contexts cannot set.
 */
export async function launchPersistentChromium(
  options: LaunchPersistentOptions = {},
): Promise<PersistentTestBrowser> {
  const userDataDir = await Deno.makeTempDir({ prefix: "chromium-profile-" });
  if (options.preferences) {
    await Deno.mkdir(`${userDataDir}/Default`, { recursive: true });
    await Deno.writeTextFile(
      `${userDataDir}/Default/Preferences`,
      JSON.stringify(options.preferences),
    );
  }
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_BIN,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      ...options.launch,
    });
  } catch (e) {
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    throw e;
  }
  const close = async () => {
    await context.close().catch(() => {});
    await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
  };
  return { context, userDataDir, close, [Symbol.asyncDispose]: close };
}

function wrap(browser: Browser): TestBrowser {
  const close = async () => {
    for (const ctx of browser.contexts()) await ctx.close().catch(() => {});
    await browser.close().catch(() => {});
  };
  return {
    browser,
    newContext: () => browser.newContext(),
    close,
    [Symbol.asyncDispose]: close,
  };
}
