/**
 * Resource attacks by clients nobody authenticated (issue 19, items 3, 4 and 8): requests that
 * would grow the app's memory (random long methods and paths), forged tokens and install checks
 * that would spend a portal's REST quota, and the operational surfaces (`/metrics`, `/readyz`).
 *
 * `RELIABILITY_SEED=<n>` replays another sequence.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { freePort } from "../support/ports.ts";
import { startBitrixHarness } from "../support/bitrix.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { openTestApp } from "../support/app.ts";
import { createApp } from "../../app.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { pool, Random, seedFromEnv, spawnApp } from "./support.ts";

const SEED = seedFromEnv(0x11_1175);

/** The series lines of `/metrics`' text (everything but comments). */
function seriesOf(text: string): string[] {
  return text.split("\n").filter((line) => line && !line.startsWith("#"));
}

function heapUsed(text: string): number {
  return Number(/^deno_heap_used_bytes (\d+)$/m.exec(text)?.[1]);
}

Deno.test("[limits] 10,000 requests with random long methods and paths leave the heap and /metrics flat", async () => {
  const port = freePort();
  // A small heap: before methods were bounded, unique methods filled it and the process died.
  await using app = await spawnApp({
    DATABASE_URL: "pglite:memory",
    ENCRYPTION_KEY: generateKey(),
    LOG_LEVEL: "warn",
    DENO_V8_FLAGS: "--max-heap-size=96",
  }, port);
  const rng = new Random(SEED);
  const metrics = async () => {
    const res = await fetch(`${app.url}/metrics`);
    assertEquals(res.status, 200);
    return await res.text();
  };
  const flood = async (count: number) => {
    const statuses = new Set<number>();
    await pool(Array.from({ length: count }), 8, async () => {
      const method = `X${rng.string(rng.int(1000, 4000), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")}`;
      const path = `/${rng.string(rng.int(1, 1500))}`;
      const res = await fetch(`${app.url}${path}`, { method });
      statuses.add(res.status);
      if (res.status === 405) {
        assertEquals((await res.json()).error.code, "method_not_allowed");
        assert(res.headers.get("allow")?.includes("GET"), "405 names the allowed methods");
      } else await res.body?.cancel();
    });
    // A known method on a random path is counted, as `unmatched`.
    for (let i = 0; i < count / 100; i++) {
      await fetch(`${app.url}/${rng.string(200)}`).then((r) => r.body?.cancel());
    }
    return statuses;
  };
  assertEquals([...await flood(1000)], [405]);
  await metrics(); // its own series
  const before = await metrics();
  assertEquals([...await flood(9000)], [405]);
  const after = await metrics();
  const names = (text: string) => seriesOf(text).map((line) => line.replace(/ [^ ]+$/, ""));
  assertEquals(names(after), names(before), "no series is added by the flood");
  assert(!/method="X/.test(after), "no invented method is a label");
  const grown = heapUsed(after) - heapUsed(before);
  assert(grown < 24 * 1024 * 1024, `the heap grew by ${grown} bytes`);
  const health = await fetch(`${app.url}/healthz`);
  assertEquals(health.status, 200);
  await health.body?.cancel();
  assert(!/"method":"X/.test(app.output()), "no invented method is logged");
});

const ATTACKER = "203.0.113.7";
const COLLEAGUE = "198.51.100.9";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** Statuses of `answers`, counted. */
async function countStatuses(answers: Promise<Response>[]): Promise<Record<number, number>> {
  const counts: Record<number, number> = {};
  for (const res of await Promise.all(answers)) {
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    await res.body?.cancel();
  }
  return counts;
}

Deno.test("[limits] forged frame tokens from one address do not stop a genuine sign-in from another", async () => {
  await using h = await startBitrixHarness({ env: { TRUST_PROXY: "true" } });
  assertEquals((await h.install()).status, 200);
  const rng = new Random(SEED + 1);
  const widget = (token: string, from: string) =>
    fetch(`${h.app.url}/api/bitrix/widget`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${token}`,
        "x-member-id": h.portal.memberId,
        "content-type": "application/json",
        "x-forwarded-for": from,
      },
      body: JSON.stringify({ event: "GETME" }),
    });
  const forged = await withCapturedLogs(() =>
    countStatuses(Array.from({ length: 200 }, () => widget(rng.hex(32), ATTACKER)))
  );
  assertEquals(forged[429] >= 150, true, `the attacker is limited: ${JSON.stringify(forged)}`);
  assertEquals(Object.keys(forged).sort(), ["401", "429"]);
  for (const user of [1, 1, 1]) {
    const genuine = await widget(h.portal.issueTokens({ userId: user }).accessToken, COLLEAGUE);
    assertEquals(genuine.status, 200, "a colleague still signs in");
    await genuine.body?.cancel();
  }
});

Deno.test("[limits] floods of /install and ONAPPINSTALL checks are limited; the admin panel still works", async () => {
  await using h = await startBitrixHarness({ env: { TRUST_PROXY: "true" } });
  // Installed, but the ONAPPINSTALL is not there yet: its check calls the portal.
  const { page } = await h.portal.installApp({ handlerUrl: `${h.app.url}/install` });
  assertEquals((await page!.post().then((r) => (r.body?.cancel(), r))).status, 200);
  const rng = new Random(SEED + 2);
  const installs = await withCapturedLogs(() =>
    countStatuses(Array.from({ length: 150 }, () =>
      fetch(page!.url, {
        method: "POST",
        headers: { ...FORM, "x-forwarded-for": ATTACKER },
        body: new URLSearchParams({
          ...page!.fields,
          AUTH_ID: rng.hex(32),
          REFRESH_ID: rng.hex(32),
        }),
      })))
  );
  assert(installs[429] >= 140, `/install checks are limited: ${JSON.stringify(installs)}`);
  const events = await withCapturedLogs(() =>
    countStatuses(Array.from({ length: 150 }, () =>
      fetch(`${h.app.url}/api/bitrix/install`, {
        method: "POST",
        headers: { ...FORM, "x-forwarded-for": ATTACKER },
        body: new URLSearchParams({
          event: "ONAPPINSTALL",
          "auth[member_id]": h.portal.memberId,
          "auth[application_token]": rng.hex(32),
          "auth[access_token]": rng.hex(32),
        }),
      })))
  );
  assert(events[429] >= 140, `ONAPPINSTALL checks are limited: ${JSON.stringify(events)}`);
  const [installEvent] = await h.portal.finishInstall();
  assertEquals(installEvent.status, 200, "the genuine ONAPPINSTALL is taken");
  const users = await h.widget(1, { event: "GETPORTALUSERS" });
  assertEquals(users.status, 200, "the admin panel still reads the portal");
  await users.body?.cancel();
});

/** What `Deno.serve` hands the handler for a client at `address`. */
function clientAt(address: string): Deno.ServeHandlerInfo<Deno.NetAddr> {
  return {
    remoteAddr: { transport: "tcp", hostname: address, port: 40000 },
    completed: Promise.resolve(),
  };
}

Deno.test("[limits] /metrics without METRICS_TOKEN is refused off this host; /readyz floods do not reach Vault", async () => {
  await using app = await openTestApp();
  const fetchFrom = (path: string, address: string) =>
    Promise.resolve(
      createApp(app.services).fetch(new Request(`http://127.0.0.1${path}`), clientAt(address)),
    );
  const refused = await fetchFrom("/metrics", ATTACKER);
  assertEquals([refused.status, (await refused.json()).error.code], [403, "forbidden"]);
  const local = await fetchFrom("/metrics", "127.0.0.1");
  assertEquals(local.status, 200);
  await local.body?.cancel();

  let asked = 0;
  const health = app.services.secrets.health.bind(app.services.secrets);
  app.services.secrets.health = () => (asked++, health());
  const answers = await countStatuses(
    Array.from({ length: 200 }, () => fetchFrom("/readyz", ATTACKER)),
  );
  assertEquals(answers, { 200: 200 });
  assert(asked <= 1, `Vault was asked ${asked} times for 200 public /readyz`);
  const probe = await fetchFrom("/readyz", "127.0.0.1");
  assertEquals(probe.status, 200);
  await probe.body?.cancel();
  assertEquals(asked, 2, "the health check on this host asks now");
});

Deno.test("[limits] GETME hands each phone the operator's TURN server with credentials of its own that expire", async () => {
  await using h = await startBitrixHarness({
    env: { TURN_URLS: "turn:turn.example.com:3478", TURN_SHARED_SECRET: "0123456789abcdef-turn" },
  });
  assertEquals((await h.install()).status, 200);
  const me = await (await h.widget(1, { event: "GETME" })).json();
  const [turn] = me.portal.iceServers;
  const [expiry, user] = turn.username.split(":");
  assertEquals([turn.urls, user], [["turn:turn.example.com:3478"], `${h.portal.memberId}.1`]);
  const left = Number(expiry) - Date.now() / 1000;
  assert(left > 86000 && left <= 1.5 * 86400, `expires in ${left} s`);
  assert(!JSON.stringify(me).includes("0123456789abcdef-turn"), "the secret stays on the server");
});
