/**
 * Budgets for work that calls out before anyone is authenticated: token buckets by key (a
 * client address, a portal), each keyed map capped and forgetting the least recently used key
 * first, so request values cannot grow it; and the pair of them that such work spends from.
 *
 * @example
 * ```ts
 * const budget = new CallOutBudget({
 *   perClient: { burst: 5, perSecond: 0.1 },
 *   perPortal: { burst: 10, perSecond: 0.2 },
 * });
 * budget.spend(c.var.client.ip, memberId); // throws RateLimitedError (429) when either is empty
 * ```
 *
 * @module
 */
import { RateLimitedError } from "./errors.ts";

/** One bucket's size and refill. */
export interface BucketOptions {
  /** Tokens a full bucket holds (the burst). */
  burst: number;
  /** Tokens added per second. */
  perSecond: number;
  /** Most keys remembered; a forgotten key starts full again. @defaultValue 10_000 */
  maxKeys?: number;
}

/** Token buckets by key, at most `maxKeys` of them (least recently used forgotten first). */
export class KeyedBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly options: BucketOptions, private readonly now = Date.now) {}

  /** The tokens `key` holds now (refilled, at most the burst). */
  level(key: string): number {
    return this.bucket(key).tokens;
  }

  /** Takes one token from `key`'s bucket; false (nothing taken) when it has less than one. */
  take(key: string): boolean {
    const bucket = this.bucket(key);
    if (bucket.tokens < 1) return false;
    bucket.tokens--;
    return true;
  }

  /** Gives back a token taken from `key` (work that turned out genuine). */
  giveBack(key: string): void {
    const bucket = this.bucket(key);
    bucket.tokens = Math.min(this.options.burst, bucket.tokens + 1);
  }

  /** `key`'s bucket refilled to now, moved to the most recently used end. */
  private bucket(key: string): { tokens: number; at: number } {
    const now = this.now();
    const { burst, perSecond, maxKeys = 10_000 } = this.options;
    const bucket = this.buckets.get(key) ?? { tokens: burst, at: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * perSecond);
    bucket.at = now;
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    return bucket;
  }
}

/**
 * Install checks nobody authenticated yet (`/install`, ONAPPINSTALL): 5 per client address and
 * then one per 10 s, 10 per portal and then one per 5 s — far below Bitrix24's own limit (50,
 * then 2 per second), so a flood of them leaves the portal's quota to its genuine users.
 */
export const INSTALL_CHECK_BUDGET: CallOutBudgetOptions = {
  perClient: { burst: 5, perSecond: 0.1 },
  perPortal: { burst: 10, perSecond: 0.2 },
  message: "too many install checks; retry shortly",
};

/** Options of {@link CallOutBudget}. */
export interface CallOutBudgetOptions {
  perClient: BucketOptions;
  perPortal: BucketOptions;
  /** What a refusal says (the 429's message). */
  message?: string;
}

/**
 * What one piece of unauthenticated work that calls a portal costs: a token of the client
 * address's bucket and one of the portal's. A client that emptied its own bucket is refused
 * without touching the portal's, so one address cannot spend a portal's budget for others.
 */
export class CallOutBudget {
  private readonly clients: KeyedBuckets;
  private readonly portals: KeyedBuckets;

  constructor(private readonly options: CallOutBudgetOptions, now = Date.now) {
    this.clients = new KeyedBuckets(options.perClient, now);
    this.portals = new KeyedBuckets(options.perPortal, now);
  }

  /** Takes a token of `client`'s and of `portal`'s bucket, or throws `RateLimitedError`. */
  spend(client: string, portal: string): void {
    if (this.clients.level(client) < 1 || !this.portals.take(portal)) {
      throw new RateLimitedError(this.options.message ?? "too many requests; retry shortly");
    }
    this.clients.take(client);
  }

  /** Gives back the client's and the portal's token of work that turned out genuine. */
  giveBack(client: string, portal: string): void {
    this.clients.giveBack(client);
    this.portals.giveBack(portal);
  }
}
