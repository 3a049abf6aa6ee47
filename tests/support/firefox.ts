/**
 * Launches Debian's Firefox ESR (`/usr/bin/firefox-esr`) headless through puppeteer-core over
 * WebDriver BiDi, with fake media devices, no permission prompts, autoplay allowed and WebRTC
 * allowed on loopback. (playwright-core's Firefox path needs a newer Firefox than ESR.)
 *
 * One browser process hosts several isolated parties: each `newContext()` is its own user
 * context (own SharedWorkers, Web Locks, storage). Tests share one process per file.
 *
 * @example
 * ```ts
 * await using firefox = await launchFirefox();
 * const alice = await firefox.newContext();
 * const page = await alice.newPage();
 * ```
 *
 * @module
 */
import puppeteer, { type Browser, type BrowserContext, type Page } from "puppeteer-core";
import { requireService } from "./services.ts";

/** The Firefox binary (override with `FIREFOX`). */
export const FIREFOX_BIN = Deno.env.get("FIREFOX") ?? "/usr/bin/firefox-esr";

/**
 * Preferences every test Firefox gets. Measured in a loopback-only namespace (Firefox 153 ESR):
 * without `ice.loopback` Firefox drops 127.0.0.1 from its interfaces and gathers nothing; and
 * unless the page holds a microphone *permission* (an active fake capture does not count), it
 * gathers only on the default route's address, which does not exist there ("failed to find
 * default addresses"), so `permissions.default.microphone` grants it as a user would.
 */
export const FIREFOX_PREFS: Readonly<Record<string, unknown>> = {
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  "permissions.default.microphone": 1,
  "media.peerconnection.ice.loopback": true,
  "media.peerconnection.ice.obfuscate_host_addresses": false,
  // No sound server here: without a mock output device every AudioContext stays "suspended"
  // (Chromium headless has a fake output of its own), so nothing analyses the microphone.
  "media.cubeb.force_mock_context": true,
  "media.autoplay.default": 0,
  "media.autoplay.blocking_policy": 0,
  // Background tabs keep timers running like foreground ones in tests.
  "dom.min_background_timeout_value": 4,
  "dom.timeout.enable_budget_timer_throttling": false,
};

/** True when the Firefox binary exists. */
export function firefoxAvailable(): boolean {
  try {
    return Deno.statSync(FIREFOX_BIN).isFile;
  } catch {
    return false;
  }
}

let missing: boolean | undefined;

/** `ignore` for Firefox tests: skips with a line without Firefox, throws with CI=true. */
export function firefoxMissing(): boolean {
  missing ??= requireService("Firefox", firefoxAvailable(), "apt-get install firefox-esr");
  return missing;
}

/** Options for {@link launchFirefox}. */
export interface LaunchFirefoxOptions {
  /** Extra preferences (over {@link FIREFOX_PREFS}). */
  prefs?: Record<string, unknown>;
}

/** A launched Firefox; disposing closes every context and the process. */
export interface FirefoxBrowser extends AsyncDisposable {
  readonly browser: Browser;
  /** A fresh isolated user context. */
  newContext(): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** Starts headless Firefox ESR with {@link FIREFOX_PREFS}. */
export async function launchFirefox(options: LaunchFirefoxOptions = {}): Promise<FirefoxBrowser> {
  const browser = await puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX_BIN,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...options.prefs },
  });
  const close = async () => {
    await browser.close().catch(() => {});
  };
  return {
    browser,
    newContext: () => browser.createBrowserContext(),
    close,
    [Symbol.asyncDispose]: close,
  };
}

export type { Browser as FirefoxProcess, BrowserContext as FirefoxContext, Page as FirefoxPage };
