import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { ConcurrencyLimit } from "./concurrency_limit.ts";
import { UnavailableError } from "./errors.ts";

Deno.test("[concurrency limit] over the cap a task is refused without running; slots come back", async () => {
  const limit = new ConcurrencyLimit(2);
  const gate = Promise.withResolvers<void>();
  let ran = 0;
  const held = [1, 2].map(() => limit.run(() => (ran++, gate.promise)));
  await assertRejects(() => limit.run(() => Promise.resolve(ran++)), UnavailableError);
  assertEquals([ran, limit.running], [2, 2]);
  gate.resolve();
  await Promise.all(held);
  await assertRejects(() => limit.run(() => Promise.reject(new Error("boom"))), Error, "boom");
  assertEquals(await limit.run(() => Promise.resolve("ok")), "ok");
  assertEquals(limit.running, 0);
});
