import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { CallOutBudget, KeyedBuckets } from "./rate_limit.ts";

Deno.test("[rate_limit] a bucket holds its burst, refills per second and takes back what was given", () => {
  let now = 0;
  const buckets = new KeyedBuckets({ burst: 2, perSecond: 0.5 }, () => now);
  assertEquals([buckets.take("a"), buckets.take("a"), buckets.take("a")], [true, true, false]);
  now = 2000;
  assertEquals([buckets.take("a"), buckets.take("a")], [true, false]);
  buckets.giveBack("a");
  assertEquals(buckets.take("a"), true);
  assertEquals(buckets.take("b"), true, "keys are apart");
});

Deno.test("[rate_limit] at most maxKeys keys are kept, the least recently used forgotten", () => {
  const buckets = new KeyedBuckets({ burst: 1, perSecond: 0, maxKeys: 2 }, () => 0);
  buckets.take("a");
  buckets.take("b");
  buckets.take("a");
  buckets.take("c"); // forgets b
  assertEquals([buckets.level("a"), buckets.level("c")], [0, 0]);
  assertEquals(buckets.level("b"), 1, "a forgotten key starts full");
});

Deno.test("[rate_limit] a client that emptied its bucket does not spend the portal's", () => {
  const budget = new CallOutBudget({
    perClient: { burst: 2, perSecond: 0 },
    perPortal: { burst: 3, perSecond: 0 },
  }, () => 0);
  budget.spend("attacker", "p");
  budget.spend("attacker", "p");
  for (let i = 0; i < 5; i++) assertThrows(() => budget.spend("attacker", "p"), "too many");
  budget.spend("colleague", "p");
  assertThrows(() => budget.spend("colleague", "p"), "too many"); // the portal's is empty
  budget.giveBack("colleague", "p");
  budget.spend("colleague", "p");
});
