import { assertEquals } from "../../tests/support/assert.ts";
import { CachedReadiness } from "./readiness.ts";

Deno.test("[readiness] a cached answer is reused for its lifetime, then asked again", async () => {
  let now = 0;
  let asked = 0;
  const readiness = new CachedReadiness(
    {
      database: { ping: () => Promise.resolve() },
      secrets: { health: () => (asked++, Promise.resolve({ ok: asked < 2 })) },
      isMigrated: () => true,
    },
    2000,
    () => now,
  );
  const [a, b] = await Promise.all([readiness.report(), readiness.report()]);
  assertEquals([a.ready, b.ready, asked], [true, true, 1]);
  now = 1999;
  assertEquals((await readiness.report()).ready, true);
  now = 2000;
  assertEquals([(await readiness.report()).ready, asked], [false, 2]);
});
