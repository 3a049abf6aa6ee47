import { assertEquals } from "../../../tests/support/assert.ts";
import { PortalBudget } from "./portal_budget.ts";

Deno.test("[budget] a portal's budget allows its burst, then refills at its rate; portals are apart", () => {
  let now = 0;
  const budget = new PortalBudget({ perSecond: 2, burst: 4 }, 100, () => now);
  assertEquals([budget.take("a", 2), budget.take("a", 2), budget.take("a", 1)], [
    true,
    true,
    false,
  ]);
  assertEquals(budget.take("b", 4), true, "another portal has its own bucket");
  assertEquals(budget.waitMs("a", 2), 1000);
  assertEquals(budget.spent(10), ["b", "a"], "both spent, the most recently used last");
  now = 500;
  assertEquals([budget.take("a", 2), budget.take("a", 1)], [false, true]);
  now = 60_000;
  assertEquals(budget.take("a", 5), false, "never more than the burst");
  assertEquals(budget.take("a", 4), true);
  now = 120_000;
  budget.drain("a");
  assertEquals([budget.take("a", 1), budget.waitMs("a", 2)], [false, 1000], "the portal said so");
});
