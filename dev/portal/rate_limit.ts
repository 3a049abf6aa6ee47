/**
 * The REST rate limit: a leaky bucket per portal (DOCS `limits.md`: drain 2 req/s, block above
 * 50 on non-Enterprise plans; 5 and 250 on Enterprise).
 *
 * @module
 */
import type { Clock } from "./clock.ts";

/** Leaky-bucket parameters. */
export interface RateLimit {
  /** Requests drained per second. */
  drainPerSec: number;
  /** Bucket size: requests beyond it are refused. */
  burst: number;
}

/** A leaky bucket on the portal clock. */
export class LeakyBucket {
  #level = 0;
  #at: number;

  constructor(private readonly limit: RateLimit, private readonly clock: Clock) {
    this.#at = clock.now();
  }

  /** Counts one request; false when the bucket is full (the request must be refused). */
  take(): boolean {
    const now = this.clock.now();
    this.#level = Math.max(0, this.#level - ((now - this.#at) / 1000) * this.limit.drainPerSec);
    this.#at = now;
    if (this.#level + 1 > this.limit.burst) return false;
    this.#level += 1;
    return true;
  }
}
