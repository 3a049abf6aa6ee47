/**
 * When phone tests run: Kamailio and Chromium must be installed (skipped with a line on a
 * developer machine, a failure with CI=true), and the process must be inside a network
 * namespace whose only interface is loopback, so that no SIP, ICE or RTP leaves 127.0.0.1.
 * Outside such a namespace `netns_test.ts` re-runs the phone tests under `unshare -n`.
 *
 * @module
 */
import { kamailioAvailable } from "../kamailio/kamailio.ts";
import { chromiumAvailable } from "../support/chromium.ts";
import { firefoxMissing } from "../support/firefox.ts";
import { IN_CI, requireService } from "../support/services.ts";

/** True when every network interface is loopback (inside `unshare -n` with `lo` up). */
export function loopbackOnly(): boolean {
  return Deno.networkInterfaces().every((i) => i.address.startsWith("127.") || i.address === "::1");
}

let servicesIgnored: boolean | undefined;

/** `ignore` for Kamailio + Chromium tests (throws in CI when a service is missing). */
export function phoneServicesMissing(): boolean {
  servicesIgnored ??= requireService(
    "Kamailio",
    kamailioAvailable(),
    "apt-get install kamailio kamailio-websocket-modules",
  ) ||
    requireService("Chromium", chromiumAvailable(), "apt-get install chromium");
  return servicesIgnored;
}

let warned = false;

/** `ignore` for a phone test in this process. */
export function phoneTestIgnored(): boolean {
  if (phoneServicesMissing()) return true;
  if (loopbackOnly()) return false;
  if (!warned) {
    warned = true;
    if (Deno.env.get("PHONE_NETNS") === "1") {
      throw new Error("PHONE_NETNS=1 but non-loopback interfaces are present");
    }
    console.warn(
      "phone tests: not in a loopback-only network namespace; netns_test.ts runs them under unshare -n",
    );
  }
  return true;
}

/** Registers a phone test with Playwright-friendly sanitizer settings. */
export function phoneTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: phoneTestIgnored(),
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}

export { IN_CI };

/** Registers a phone test that also needs Firefox ESR (skipped without it, failed in CI). */
export function firefoxPhoneTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test({
    name,
    ignore: phoneTestIgnored() || firefoxMissing(),
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}
