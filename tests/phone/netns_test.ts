/**
 * Runs the phone tests (and the browser tests that make calls: the UI pages, the end-to-end
 * test and the two-portal browser attack test) inside a fresh network namespace whose only interface is loopback
 * (`unshare -n`, root only) when this process is not in one already, so that Chromium's ICE
 * candidates and RTP can only use 127.0.0.1. Inside such a namespace this file does nothing.
 *
 * @module
 */
import { IN_CI, loopbackOnly, phoneServicesMissing } from "./gate.ts";

function canUnshare(): boolean {
  if (Deno.uid() !== 0) return false;
  try {
    Deno.statSync("/usr/bin/unshare");
    return true;
  } catch {
    return false;
  }
}

const nested = !loopbackOnly() && !phoneServicesMissing();
let ignore = !nested;
if (nested && !canUnshare()) {
  const message = "phone tests need root and unshare(1) to run in a loopback-only namespace";
  if (IN_CI) throw new Error(`CI=true: ${message}`);
  console.warn(`skipping: ${message}`);
  ignore = true;
}

Deno.test({
  name: "[phone] all phone tests in a loopback-only network namespace (unshare -n)",
  ignore,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const root = new URL("../../", import.meta.url).pathname;
    const { code } = await new Deno.Command("unshare", {
      args: [
        "-n",
        "bash",
        "-c",
        'ip link set lo up && exec "$0" test -A tests/phone/ tests/ui_pages_test.ts tests/ui_pages_firefox_test.ts tests/bitrix_phone_e2e_test.ts tests/caller_e2e_test.ts tests/reliability/browser_tenants_attack_test.ts',
        Deno.execPath(),
      ],
      cwd: root,
      env: { PHONE_NETNS: "1" },
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) throw new Error(`phone tests in the namespace failed (exit ${code})`);
  },
});
