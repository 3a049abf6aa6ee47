/**
 * Each portal's share of Bitrix24's REST rate limit, as this process spends it: a leaky bucket
 * of `burst` requests refilled at `perSecond` (Bitrix24's own limit for a standard plan is 2
 * requests a second with a burst of 50, which b24jssdk's limiter mirrors). The call sync asks
 * before it sends, so it never sleeps inside one portal's limiter while other portals have work:
 * a portal whose bucket is spent waits for its refill, untouched, until {@link PortalBudget.waitMs}.
 * Buckets are kept for the most recently used portals only (an evicted portal starts full again,
 * as the SDK's own limiter does).
 *
 * @module
 */
import { LruMap } from "../lru.ts";

/** Bitrix24's limit of a standard plan: 2 requests a second, bursts of 50. */
export const BITRIX_RATE = { perSecond: 2, burst: 50 };

interface Bucket {
  tokens: number;
  at: number;
}

/** Per-portal token buckets (see the module). */
export class PortalBudget {
  private readonly buckets: LruMap<string, Bucket>;

  constructor(
    private readonly rate: { perSecond: number; burst: number } = BITRIX_RATE,
    size = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.buckets = new LruMap(size);
  }

  private bucket(portalId: string): Bucket {
    const now = this.now();
    const b = this.buckets.get(portalId) ?? { tokens: this.rate.burst, at: now };
    b.tokens = Math.min(this.rate.burst, b.tokens + (now - b.at) / 1000 * this.rate.perSecond);
    b.at = now;
    this.buckets.set(portalId, b);
    return b;
  }

  /** Spends `requests` of the portal's budget if it has them; false (nothing spent) if not. */
  take(portalId: string, requests: number): boolean {
    const b = this.bucket(portalId);
    if (b.tokens < requests) return false;
    b.tokens -= requests;
    return true;
  }

  /** The portal said its limit is reached (another instance, or another app, spent it). */
  drain(portalId: string): void {
    this.bucket(portalId).tokens = 0;
  }

  /** Up to `max` portals that cannot afford `requests` now, most recently used last. */
  spent(max: number, requests = 1): string[] {
    const now = this.now();
    const out: string[] = [];
    for (const [portalId, b] of this.buckets) {
      if (b.tokens + (now - b.at) / 1000 * this.rate.perSecond < requests) out.push(portalId);
    }
    return out.slice(-max);
  }

  /** How long until the portal can afford `requests`, ms (0: now). */
  waitMs(portalId: string, requests: number): number {
    const b = this.bucket(portalId);
    return Math.max(0, Math.ceil((requests - b.tokens) / this.rate.perSecond * 1000));
  }
}
