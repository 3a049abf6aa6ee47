/**
 * A map bounded by entry count that forgets the least recently used entry first: `get` and
 * `set` make an entry the most recent, `peek` and iteration do not. Backed by a `Map`, whose
 * insertion order is the recency order (an entry is moved to the end by re-inserting it), so
 * every operation is O(1).
 *
 * @module
 */

/** A `Map`-like cache of at most `maxEntries` entries, least recently used evicted first. */
export class LruMap<K, V> {
  private readonly entries = new Map<K, V>();

  /** @param maxEntries at least 1 */
  constructor(readonly maxEntries: number) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`an LRU needs at least one entry (got ${maxEntries})`);
    }
  }

  /** How many entries are held. */
  get size(): number {
    return this.entries.size;
  }

  /** The value of `key`, which becomes the most recently used. */
  get(key: K): V | undefined {
    if (!this.entries.has(key)) return undefined;
    const value = this.entries.get(key) as V;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  /** The value of `key`, leaving its recency as it was. */
  peek(key: K): V | undefined {
    return this.entries.get(key);
  }

  /** Whether `key` is held (its recency unchanged). */
  has(key: K): boolean {
    return this.entries.has(key);
  }

  /** Stores `value` as the most recently used, evicting the least recently used when full. */
  set(key: K, value: V): this {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    return this;
  }

  /** Forgets `key`; whether it was held. */
  delete(key: K): boolean {
    return this.entries.delete(key);
  }

  /** Forgets every entry. */
  clear(): void {
    this.entries.clear();
  }

  /** The entries, least recently used first (deleting while iterating is safe). */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries[Symbol.iterator]();
  }

  /** The keys, least recently used first. */
  keys(): IterableIterator<K> {
    return this.entries.keys();
  }
}
