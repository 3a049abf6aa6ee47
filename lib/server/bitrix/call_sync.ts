/**
 * Brings the call journal into Bitrix24: `telephony.externalcall.register` (with the SIP
 * Call-ID as `EXTERNAL_CALL_ID`) and `telephony.externalcall.finish` (duration and a status
 * code mapped from the final SIP response), each exactly once per call.
 *
 * One owner per row: a sync attempt claims its row (`claim_id`, see `CallRepo.claimDue`), an
 * immediate attempt after a report and the loop of any instance alike, and every write of the
 * attempt holds only while its claim does. The claim is short ({@link LEASE_MS}) and renewed
 * while the attempt is alive, so a crashed instance's rows are taken over within seconds (and
 * logged). Register and finish are built from the row as the claim reads it, re-read after
 * register: an end reported meanwhile is finished in the same attempt, and finish is only ever
 * sent once the call has ended. A finish Bitrix24 already holds (the app died between sending
 * it and storing that) is recognised in the call statistics and counted as done.
 *
 * Fair across portals: the loop claims at most {@link PER_PORTAL} rows of a portal per pass
 * and serves portals concurrently (`concurrency` workers, one per portal at a time); a portal's
 * requests are counted against its share of Bitrix24's rate limit ({@link PortalBudget}), and a
 * portal that cannot afford them waits unclaimed instead of holding a worker in the SDK's
 * limiter. Failures keep the row pending with exponential backoff, across restarts; once the
 * portal answers again, its rows backing off are due at once.
 *
 * A row through one attempt:
 *
 * ```
 *   claimed ──not registered──▶ register ──▶ re-read ─┐
 *   claimed ──registered──────────────────────────────┤
 *                                   ┌─────────────────┘
 *                                   ├──ended──▶ finish ──▶ finished (released)
 *                                   └──live───▶ released until its end is reported
 *   any step ──error──▶ released: retry after backoff │ held (portal refuses the app)
 *                                │ failed (Bitrix24 refused the data)
 *   any step ──claim lost (lapsed, taken over)──▶ stop; the new owner goes on
 * ```
 *
 * @module
 */
import type { CallRepo, CallRow, Claim, ClaimedRow } from "../db/calls.ts";
import type { Portal, PortalRepo } from "../db/portals.ts";
import { log } from "../log.ts";
import { PortalBudget } from "./portal_budget.ts";
import type { PortalClients } from "./portal_clients.ts";
import { BitrixApiError } from "./rest.ts";

/**
 * How long a claim holds its row unless renewed; renewed every third of it while the attempt
 * is alive (the SDK's own retries of one request may take a minute or two).
 */
const LEASE_MS = 30_000;

/** Most rows of one portal claimed in one pass of the loop. */
const PER_PORTAL = 10;

/** Portals synced at once by one instance's loop. */
const CONCURRENCY = 32;

/** A call no end was reported for this long after its start is closed (its phone vanished). */
export const ABANDONED_MS = 4 * 60 * 60_000;

/** Why such a call was closed (Bitrix24's `FAILED_REASON`, the history). */
const ABANDONED_REASON = "no end was reported within 4 hours (the phone was closed mid-call)";

/** A click-to-call not dialled this long after Bitrix24 announced it is over. */
const UNDIALLED_MS = 10 * 60_000;

/** The sync's counters (exported in /metrics). */
export interface SyncCounters {
  registered: number;
  finished: number;
  failures: number;
}

/** What the call sync needs. */
export interface CallSyncDeps {
  calls: CallRepo;
  portals: Pick<PortalRepo, "findById" | "setBlocked">;
  clients: Pick<PortalClients, "forPortal">;
  counters: SyncCounters;
}

/**
 * Bitrix24's `STATUS_CODE` for a call: 200 answered; 304 an inbound call nobody answered;
 * 603-S an outbound call the caller cancelled; otherwise the SIP final status when Bitrix24
 * knows it, else `OTHER`.
 */
function statusCodeFor(
  call: Pick<CallRow, "direction" | "answeredAt" | "sipStatus">,
): string {
  if (call.answeredAt) return "200";
  const sip = call.sipStatus ?? 0;
  if (call.direction === "inbound" && [0, 200, 408, 480, 487].includes(sip)) return "304";
  if (call.direction === "outbound" && (sip === 487 || sip === 0)) return "603-S";
  if ([403, 404, 423, 402, 480, 484, 486, 503, 603].includes(sip)) return String(sip);
  return "OTHER";
}

/**
 * How long a dial for a click-to-call card waits for Bitrix24's ONEXTERNALCALLSTART to confirm
 * its CALL_ID (the card and the event travel separately); unconfirmed after that, the call is
 * registered as the phone's own.
 */
const CLICK_TO_CALL_CONFIRM_MS = 2 * 60_000;

/** A dial that names a click-to-call CALL_ID the portal has not confirmed yet (and may still). */
function awaitsClickToCallEvent(row: CallRow): boolean {
  return row.origin === "click_to_call" && !row.registeredInBitrix &&
    Date.now() - row.createdAt.getTime() < CLICK_TO_CALL_CONFIRM_MS;
}

/** Backoff before attempt `n + 1`: 2 s doubling to 5 min, with ±20 % jitter. */
export function backoffMs(attempts: number): number {
  const base = Math.min(300_000, 2000 * 2 ** Math.min(attempts, 10));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Wait before the next attempt while the portal refuses the app (payment, `invalid_client`),
 * given how long it has refused it: 15 min at first, growing with the refusal to an hour, with
 * ±10 % jitter. Such rows are never given up.
 */
export function blockedBackoffMs(blockedForMs: number): number {
  const base = Math.min(3_600_000, Math.max(900_000, blockedForMs));
  return Math.round(base * (0.9 + Math.random() * 0.2));
}

/** Syncs journal rows with Bitrix24. */
export class CallSync {
  private timer?: ReturnType<typeof setTimeout>;
  private renewTimer?: ReturnType<typeof setInterval>;
  private stopped = true;

  private readonly backoff: (attempts: number) => number;
  private readonly blockedBackoff: (blockedForMs: number) => number;
  private readonly leaseMs: number;
  private readonly concurrency: number;
  private readonly budget: PortalBudget;
  private readonly inflight = new Set<Promise<unknown>>();
  /** The claims this process holds (renewed until released). */
  private readonly held = new Map<string, Claim>();
  /** Portals whose last attempt here failed for a transient reason (their rows back off). */
  private readonly failing = new Set<string>();
  private readonly queue: { rows: ClaimedRow[]; done: () => void }[] = [];
  private workers = 0;

  constructor(
    private readonly deps: CallSyncDeps,
    options: {
      backoffMs?: (attempts: number) => number;
      /** Given how long the portal has refused the app. */
      blockedBackoffMs?: (blockedForMs: number) => number;
      leaseMs?: number;
      /** Portals synced at once. */
      concurrency?: number;
      /** Each portal's share of Bitrix24's rate limit. */
      budget?: PortalBudget;
    } = {},
  ) {
    this.backoff = options.backoffMs ?? backoffMs;
    this.blockedBackoff = options.blockedBackoffMs ?? blockedBackoffMs;
    this.leaseMs = options.leaseMs ?? LEASE_MS;
    this.concurrency = options.concurrency ?? CONCURRENCY;
    this.budget = options.budget ?? new PortalBudget();
  }

  /**
   * Tries `callId` now if it is due and nobody holds it (used right after a report); the
   * report never waits for it.
   */
  syncNow(callId: string): Promise<CallRow | undefined> {
    return this.track(async () => {
      const row = await this.deps.calls.claimById(callId, this.leaseMs);
      if (!row) return undefined;
      this.hold(row);
      await this.syncAffordable(row);
      return row;
    });
  }

  /**
   * One pass of the loop: ends click-to-calls nobody dialled within `UNDIALLED_MS` and calls
   * abandoned mid-call, claims up to `limit` due rows fairly (see the module) and syncs them;
   * resolves with how many were claimed once they are done.
   */
  runOnce(limit = this.concurrency * PER_PORTAL): Promise<number> {
    return this.track(async () => {
      const rows = await this.claimPass(limit);
      await Promise.all(this.dispatch(rows));
      return rows.length;
    });
  }

  private async claimPass(limit: number): Promise<ClaimedRow[]> {
    const { calls } = this.deps;
    await calls.endUndialledClickToCalls(new Date(Date.now() - UNDIALLED_MS));
    await calls.closeAbandoned(new Date(Date.now() - ABANDONED_MS), ABANDONED_REASON);
    if (limit <= 0) return [];
    const rows = await calls.claimDue(limit, this.leaseMs, {
      perPortal: PER_PORTAL,
      // A call's sync sends up to two requests (register, finish).
      skipPortals: this.budget.spent(500, 2),
    });
    for (const row of rows) this.hold(row);
    return rows;
  }

  /** Queues each portal's rows for a worker; resolves, per portal, when they are done. */
  private dispatch(rows: ClaimedRow[]): Promise<void>[] {
    const byPortal = Map.groupBy(rows, (r) => r.portalId);
    const done = [...byPortal.values()].map((group) =>
      new Promise<void>((resolve) => {
        this.queue.push({ rows: group, done: resolve });
      })
    );
    this.pump();
    return done;
  }

  private pump(): void {
    while (this.workers < this.concurrency && this.queue.length > 0) {
      const job = this.queue.shift()!;
      this.workers++;
      this.track(async () => {
        for (const row of job.rows) await this.syncAffordable(row);
      }).catch((err) => log.warn("call sync worker failed", { error: err })).finally(() => {
        this.workers--;
        job.done();
        this.pump();
      });
    }
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const promise = fn();
    this.inflight.add(promise);
    promise.finally(() => this.inflight.delete(promise)).catch(() => {});
    return promise;
  }

  private hold(row: ClaimedRow): void {
    this.held.set(row.id, { id: row.id, claimId: row.claimId });
    // Claims are renewed while any is held (by the loop, a report's attempt, or a test's pass).
    this.renewTimer ??= setInterval(() => {
      if (this.held.size === 0) {
        clearInterval(this.renewTimer);
        this.renewTimer = undefined;
        return;
      }
      this.renew().catch((err) => log.warn("call sync could not renew its claims", { error: err }));
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    if (row.claimTakenOver) {
      log.warn("call sync took over a lapsed claim (its owner died or stalled)", {
        callId: row.id,
      });
    }
  }

  /** Extends every claim this process holds; a claim found lost is forgotten. */
  private async renew(): Promise<void> {
    const claims = [...this.held.values()];
    if (claims.length === 0) return;
    const kept = new Set(
      (await this.deps.calls.renewClaims(claims, this.leaseMs)).map((c) => c.id),
    );
    for (const c of claims) {
      if (kept.has(c.id) || this.held.get(c.id)?.claimId !== c.claimId) continue;
      this.held.delete(c.id);
      log.warn("call sync lost its claim on a row", { callId: c.id });
    }
  }

  /**
   * Runs the loop until `stop()`: a pass every `intervalMs`, or at once while passes find as
   * many rows as they may take (a backlog).
   */
  start(intervalMs = 2000): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      let full = false;
      await this.track(async () => {
        const free = (this.concurrency - this.workers - this.queue.length) * PER_PORTAL;
        const rows = await this.claimPass(free);
        this.dispatch(rows);
        full = rows.length > 0 && rows.length >= free;
      }).catch((err) => log.warn("call sync pass failed", { error: err }));
      if (!this.stopped) this.timer = setTimeout(tick, full ? 50 : intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for the attempts in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.settled();
    clearInterval(this.renewTimer);
    this.renewTimer = undefined;
  }

  /** Resolves once no attempt is in progress (those started meanwhile included). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Syncs `row` if its portal can afford the requests it needs now; otherwise releases it
   * (no attempt counted) until the portal's budget has refilled.
   */
  private async syncAffordable(row: ClaimedRow): Promise<void> {
    const requests = Math.max(1, (row.registeredInBitrix ? 0 : 1) + (row.endedAt ? 1 : 0));
    try {
      if (this.budget.take(row.portalId, requests)) {
        await this.syncRow(row);
      } else {
        await this.deps.calls.markHeld(row, null, this.budget.waitMs(row.portalId, requests));
      }
    } finally {
      if (this.held.get(row.id)?.claimId === row.claimId) this.held.delete(row.id);
    }
  }

  private async syncRow(row: ClaimedRow): Promise<void> {
    const { calls } = this.deps;
    const portal = await this.deps.portals.findById(row.portalId);
    if (!portal?.installed) {
      await calls.markRetry(row, "portal not installed", this.backoff(row.syncAttempts));
      return;
    }
    if (awaitsClickToCallEvent(row)) {
      await calls.markRetry(row, "waiting for ONEXTERNALCALLSTART", 5000);
      return;
    }
    try {
      let current: ClaimedRow | undefined = row;
      if (!current.registeredInBitrix || !current.bitrixCallId) {
        const bitrixCallId = await this.register(portal, current);
        this.deps.counters.registered++;
        current = await calls.markRegistered(current, bitrixCallId);
      }
      // An end reported while this attempt worked is finished now; a live call waits for it.
      while (current && !current.endedAt) {
        if (await calls.releaseUntilEnd(current)) {
          if (portal.blockedReason) await this.deps.portals.setBlocked(portal.id, null);
          await this.recovered(portal.id);
          return;
        }
        current = await calls.reread(current);
      }
      if (!current) {
        log.warn("call sync lost its claim mid-attempt; the new owner goes on", { callId: row.id });
        return;
      }
      await this.finish(portal, current);
      await calls.markFinished(current);
      this.deps.counters.finished++;
      if (portal.blockedReason) await this.deps.portals.setBlocked(portal.id, null);
      await this.recovered(portal.id);
    } catch (err) {
      await this.failed(portal, row, err);
    }
  }

  private async failed(portal: Portal, row: ClaimedRow, err: unknown): Promise<void> {
    const { calls } = this.deps;
    this.deps.counters.failures++;
    const code = err instanceof BitrixApiError ? err.code : (err as Error).name;
    const blocked = err instanceof BitrixApiError ? err.blockedReason : undefined;
    if (blocked) {
      // The portal (unpaid) or the app (unknown to the OAuth server) is refused, not the
      // call: keep it for when that is lifted, and tell the admin why.
      await this.deps.portals.setBlocked(portal.id, blocked);
      const since = portal.blockedReason === blocked ? portal.blockedAt : null;
      const delay = this.blockedBackoff(since ? Date.now() - since.getTime() : 0);
      log.warn("call sync waits: Bitrix24 refuses the app", {
        callId: row.id,
        code,
        delayMs: delay,
      });
      await calls.markHeld(row, code, delay);
      return;
    }
    if (code === "QUERY_LIMIT_EXCEEDED") {
      // The portal's limit is spent (by another instance, or another app): wait for its
      // refill without counting an attempt.
      this.budget.drain(portal.id);
      await calls.markHeld(row, code, this.budget.waitMs(portal.id, 2));
      return;
    }
    // Bitrix24 refused the data itself (unknown user, bad number, call not found): retrying
    // cannot help. Rate limits, outages and token trouble are retried with backoff.
    if (err instanceof BitrixApiError && !err.transient && !err.unauthorized) {
      log.warn("call sync refused by Bitrix24; giving up", { callId: row.id, code });
      await calls.markFailed(row, err.message);
      return;
    }
    const delay = this.backoff(row.syncAttempts);
    this.failing.add(portal.id);
    log.warn("call sync failed; will retry", { callId: row.id, code, delayMs: delay });
    await calls.markRetry(row, code, delay);
  }

  /**
   * A portal that failed answers again: its rows backing off are due now, so it is served at
   * its normal rate within seconds rather than after the longest backoff.
   */
  private async recovered(portalId: string): Promise<void> {
    if (!this.failing.delete(portalId)) return;
    const woken = await this.deps.calls.retryPortalNow(portalId);
    if (woken > 0) log.info("call sync: the portal answers again; its retries are due", { woken });
  }

  /**
   * `telephony.externalcall.finish` from the row as it is now. Refused as unknown, the call
   * may be one Bitrix24 already finished (an earlier attempt's finish landed, its answer did
   * not): the call statistics tell, and then it is done.
   */
  private async finish(portal: Portal, row: CallRow): Promise<void> {
    const client = await this.deps.clients.forPortal(portal);
    try {
      await client.call("telephony.externalcall.finish", {
        CALL_ID: row.bitrixCallId,
        USER_ID: row.bitrixUserId,
        DURATION: row.answeredAt ? row.durationSec ?? 0 : 0,
        STATUS_CODE: statusCodeFor(row),
        ...(row.failedReason ? { FAILED_REASON: row.failedReason } : {}),
      });
    } catch (err) {
      if (!(err instanceof BitrixApiError) || err.transient || err.unauthorized) throw err;
      const stats = await client.call<unknown[]>("voximplant.statistic.get", {
        FILTER: { CALL_ID: row.bitrixCallId },
      }).catch(() => []);
      if (!Array.isArray(stats) || stats.length === 0) throw err;
      log.info("call sync: Bitrix24 already holds the finish", { callId: row.id });
    }
  }

  private async register(portal: Portal, row: CallRow): Promise<string> {
    const client = await this.deps.clients.forPortal(portal);
    const result = await client.call<{ CALL_ID?: string }>("telephony.externalcall.register", {
      USER_ID: row.bitrixUserId,
      PHONE_NUMBER: row.phoneNumber,
      TYPE: row.direction === "outbound" ? 1 : 2,
      CALL_START_DATE: row.startedAt.toISOString(),
      CRM_CREATE: portal.settings.crmCreate ? 1 : 0,
      SHOW: portal.settings.showCard ? 1 : 0,
      LINE_NUMBER: portal.externalLine ?? undefined,
      EXTERNAL_CALL_ID: row.sipCallId,
    });
    if (!result?.CALL_ID) {
      throw new BitrixApiError("BAD_ANSWER", 502, "no CALL_ID", "telephony.externalcall.register");
    }
    return result.CALL_ID;
  }
}
