/**
 * Resource attacks by clients nobody authenticated (issue 19, items 3, 4 and 8): requests that
 * would grow the app's memory (random long methods and paths), forged tokens and install checks
 * that would spend a portal's REST quota, and the operational surfaces (`/metrics`, `/readyz`).
 *
 * `RELIABILITY_SEED=<n>` replays another sequence.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { freePort } from "../support/ports.ts";
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
