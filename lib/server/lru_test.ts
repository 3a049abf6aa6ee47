import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { LruMap } from "./lru.ts";

Deno.test("[lru] past its size the least recently used entry goes; get refreshes, peek does not", () => {
  const lru = new LruMap<string, number>(3);
  lru.set("a", 1).set("b", 2).set("c", 3);
  assertEquals(lru.get("a"), 1); // a is now the most recent: b is the oldest
  assertEquals(lru.peek("b"), 2); // a peek leaves b the oldest
  lru.set("d", 4);
  assertEquals([...lru.keys()], ["c", "a", "d"]);
  assertEquals([lru.has("b"), lru.size], [false, 3]);
});

Deno.test("[lru] setting a held key replaces it without evicting; delete and clear forget", () => {
  const lru = new LruMap<string, number | undefined>(2);
  lru.set("a", 1).set("b", undefined);
  lru.set("a", 10);
  assertEquals([...lru], [["b", undefined], ["a", 10]]);
  assertEquals(lru.get("b"), undefined);
  assertEquals([...lru.keys()], ["a", "b"]); // an undefined value counts as held and used
  assertEquals([lru.delete("a"), lru.delete("a"), lru.size], [true, false, 1]);
  lru.clear();
  assertEquals(lru.size, 0);
});

Deno.test("[lru] a size below one is refused", () => {
  assertThrows(() => new LruMap(0), "at least one entry");
  assertEquals(assertThrows(() => new LruMap(1.5)) instanceof RangeError, true);
});
