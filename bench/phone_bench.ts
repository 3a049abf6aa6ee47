/**
 * Phone engine benchmarks on loopback with fake media (printed, never asserted):
 *
 * - registration: `connectPhone()` (worker start) and REGISTER → registered, fresh browser
 *   context (fresh SharedWorker) per run;
 * - call setup: `call()` → established and → first inbound audio packet, far end answering
 *   at once;
 * - media migration: the media tab dies mid-call → first audio packet in the other tab.
 *
 * Each is measured twice in the same run, side by side: with Chromium at both ends, and with
 * Firefox ESR as the measured party (bob, the far end, stays Chromium). Chromium's dying tab
 * crashes; Firefox's closes without `beforeunload` (WebDriver BiDi cannot crash a tab).
 * Without Firefox installed only Chromium's rows are printed.
 *
 * Timings are taken inside the pages (`performance.now()` / `Date.now()`), not through
 * driver round trips. Needs root for the loopback-only namespace:
 *
 * ```sh
 * deno run -A bench/phone_bench.ts            # re-runs itself under unshare -n
 * PHONE_BENCH_RUNS=15 deno run -A bench/phone_bench.ts
 * ```
 *
 * Targets (issue 4): call setup ≤ 600 ms, registration ≤ 250 ms, migration ≤ 500 ms.
 *
 * @module
 */
// deno-lint-ignore-file no-explicit-any no-console
import { startKamailio } from "../tests/kamailio/kamailio.ts";
import { launchChromium } from "../tests/support/chromium.ts";
import { firefoxAvailable, launchFirefox } from "../tests/support/firefox.ts";
import {
  account,
  type BrowserPage,
  FAST,
  killTab,
  phoneBundles,
  PhonePage,
  startPageServer,
} from "../tests/phone/harness.ts";
import { loopbackOnly } from "../tests/phone/gate.ts";
import { sleep, waitFor } from "../tests/support/wait.ts";

const RUNS = Number(Deno.env.get("PHONE_BENCH_RUNS") ?? 7);

if (!loopbackOnly()) {
  if (Deno.env.get("PHONE_NETNS") === "1") throw new Error("not loopback-only inside unshare");
  const { code } = await new Deno.Command("unshare", {
    args: [
      "-n",
      "bash",
      "-c",
      'ip link set lo up && exec "$0" run -A "$1"',
      Deno.execPath(),
      new URL(import.meta.url).pathname,
    ],
    env: { PHONE_NETNS: "1" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(code);
}

function stats(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted.length % 2
    ? sorted[(sorted.length - 1) / 2]
    : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

const rows: { name: string; values: number[]; target?: number }[] = [];
function record(name: string, values: number[], target?: number) {
  rows.push({ name, values, target });
}

await using kam = await startKamailio();
await using server = startPageServer(await phoneBundles());
await using browser = await launchChromium();

// Far end: bob answers every incoming call at once.
const bob = await PhonePage.open(
  await (await browser.newContext()).newPage(),
  server.origin,
  "bob",
);
await bob.register("bob", kam.wsUrl);
await bob.run((p) => {
  (globalThis as any).autoAnswer = true;
  p.stateChange.addListener((s: any) => {
    for (const c of s.calls) {
      if (!(globalThis as any).autoAnswer) continue;
      if (c.state === "incoming" && !(globalThis as any).answered?.has(c.id)) {
        ((globalThis as any).answered ??= new Set()).add(c.id);
        p.answer(c.id).catch(() => {});
      }
    }
  });
});

/** What the bench needs of a browser: isolated contexts (own SharedWorker) with tabs. */
interface PartyContext {
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}
interface PartyBrowser {
  newContext(): Promise<PartyContext>;
}

type Kind = "Chromium" | "Firefox";

async function benchRegistration(kind: Kind, party: PartyBrowser) {
  const connect: number[] = [];
  const register: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const ctx = await party.newContext();
    const tab = await ctx.newPage();
    await tab.goto(`${server.origin}/phone.html`);
    const page = new PhonePage(tab, "bench");
    await waitFor("test page", () => page.evaluate(() => (globalThis as any).T !== undefined));
    const r = await page.evaluate(async (a: any) => {
      const T = (globalThis as any).T;
      const m = await T.module;
      const t0 = performance.now();
      const phone = await m.connectPhone();
      const t1 = performance.now();
      await phone.register(a.account, a.options);
      const t2 = performance.now();
      await phone.unregister();
      phone.close();
      return { connect: t1 - t0, register: t2 - t1 };
    }, { account: account(`bench${kind}${i}`, kam.wsUrl), options: FAST });
    connect.push(r.connect);
    register.push(r.register);
    await ctx.close();
  }
  record(`[${kind}] engine start (connectPhone → worker welcome)`, connect);
  record(`[${kind}] registration (REGISTER, 401, REGISTER → 200)`, register, 250);
}

async function timedCall(phone: PhonePage) {
  return await phone.run(async (p) => {
    const t0 = performance.now();
    const call = await p.call("bob");
    const established = await new Promise<number>((resolve, reject) => {
      const check = (s: any) => {
        const c = s.calls.find((x: any) => x.id === call.id);
        if (c?.state === "connected") {
          off();
          resolve(performance.now() - t0);
        } else if (c?.state === "ended") {
          off();
          reject(new Error("call ended"));
        }
      };
      const off = p.stateChange.addListener(check);
      check(p.state);
    });
    let firstAudio = NaN;
    for (let i = 0; i < 500; i++) {
      const st = await p.mediaStats(call.id);
      if (st && st.packetsReceived > 0) {
        firstAudio = performance.now() - t0;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    return { id: call.id, established, firstAudio };
  });
}

async function hangupAll(phone: PhonePage) {
  await phone.run(async (p) => {
    for (const c of p.calls) if (c.state !== "ended") await p.hangup(c.id).catch(() => {});
    await p.waitFor((s: any) => s.calls.every((c: any) => c.state === "ended"), 10_000);
  });
  await bob.waitFor((s) => s.calls.every((c) => c.state === "ended"), 10_000);
}

async function benchCalls(kind: Kind, tab1: PhonePage) {
  const established: number[] = [];
  const audio: number[] = [];
  let cold: { established: number; firstAudio: number } | undefined;
  for (let i = 0; i < RUNS + 1; i++) {
    const r = await timedCall(tab1);
    await hangupAll(tab1);
    if (i === 0) {
      cold = r;
      continue;
    }
    established.push(r.established);
    audio.push(r.firstAudio);
  }
  record(`[${kind}] call setup: INVITE → established (first call, cold getUserMedia)`, [
    cold!.established,
  ]);
  record(`[${kind}] call setup: INVITE → established`, established, 600);
  record(`[${kind}] call setup: INVITE → first inbound audio packet`, audio, 600);
}

// ---- media migration
async function inboundCall(phone: PhonePage): Promise<string> {
  await bob.run(() => ((globalThis as any).autoAnswer = false));
  const out = await bob.call("alice");
  const incoming = await phone.waitForCall("incoming", "inbound");
  await phone.run((p, id) => p.answer(id), incoming.id);
  await phone.waitForCall("connected");
  await bob.run(
    (p, id) =>
      p.waitFor((s: any) => s.calls.some((c: any) => c.id === id && c.state === "connected")),
    out.id,
  );
  return incoming.id;
}

async function benchMigration(kind: Kind, ctxA: PartyContext, tab1: PhonePage) {
  for (const direction of ["outbound", "inbound"] as const) {
    const migrate: number[] = [];
    const reinvite: number[] = [];
    const detect: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const page2 = await ctxA.newPage();
      const tab2 = await PhonePage.open(page2, server.origin, "alice-2");
      const id = direction === "outbound" ? (await timedCall(tab2)).id : await inboundCall(tab2);
      await sleep(300);
      // tab 1 watches for the first packet of the moved call (wall clock shared with Deno).
      const watch = tab1.run((p, callId) =>
        new Promise<number>((resolve) => {
          const logs: string[] = [];
          const off = p.log.addListener((e: any) => {
            logs.push(e.message);
            if (/gone/.test(e.message)) (globalThis as any).goneAt = Date.now();
          });
          const poll = async () => {
            const st = await p.mediaStats(callId);
            if (st && st.packetsReceived > 0) {
              off();
              const moved = logs.map((l) => l.match(/moved in (\d+) ms/)?.[1]).find(Boolean);
              (globalThis as any).lastReinvite = Number(moved ?? NaN);
              resolve(Date.now());
            } else setTimeout(poll, 5);
          };
          poll();
        }), id);
      const t0 = Date.now();
      killTab(page2);
      const t1 = await Promise.race([
        watch,
        new Promise<number>((r) => setTimeout(() => r(NaN), 20_000)),
      ]);
      migrate.push(t1 - t0);
      detect.push(await tab1.run(() => (globalThis as any).goneAt) - t0);
      reinvite.push(await tab1.run(() => (globalThis as any).lastReinvite));
      await page2.close().catch(() => {});
      await hangupAll(tab1);
    }
    const label = direction === "outbound"
      ? "call placed by the dead tab"
      : "call answered by the dead tab";
    const death = kind === "Chromium" ? "tab crash" : "tab closed";
    record(`[${kind}] media migration (${label}): ${death} → first audio packet`, migrate, 500);
    record(`[${kind}] media migration (${label}): tab death detected`, detect);
    record(`[${kind}] media migration (${label}): re-INVITE round trip`, reinvite);
  }
}

async function benchParty(kind: Kind, party: PartyBrowser) {
  await benchRegistration(kind, party);
  const ctxA = await party.newContext();
  const tab1 = await PhonePage.open(await ctxA.newPage(), server.origin, `alice-${kind}`);
  await tab1.register("alice", kam.wsUrl);
  await benchCalls(kind, tab1);
  await benchMigration(kind, ctxA, tab1);
  await ctxA.close();
  await waitFor("alice unregistered", async () => (await kam.contacts("alice")) === 0);
  await bob.run(() => ((globalThis as any).autoAnswer = true));
}

await benchParty("Chromium", browser);
if (firefoxAvailable()) {
  await using firefox = await launchFirefox();
  await benchParty("Firefox", firefox);
} else console.log("firefox-esr is not installed: Chromium's rows only");

console.log(`\nphone engine benchmarks — median of ${RUNS} runs, loopback, fake media (ms)\n`);
console.log("| measurement | median | min | max | target |");
console.log("| --- | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  const s = stats(row.values.filter((v) => Number.isFinite(v)));
  const verdict = row.target === undefined
    ? ""
    : `≤ ${row.target} ${s.median <= row.target ? "✓" : "✗"}`;
  console.log(
    `| ${row.name} | ${s.median.toFixed(0)} | ${s.min.toFixed(0)} | ${
      s.max.toFixed(0)
    } | ${verdict} |`,
  );
}
