/**
 * Brings the call journal into Bitrix24: `telephony.externalcall.register` (with the SIP
 * Call-ID as `EXTERNAL_CALL_ID`) and `telephony.externalcall.finish` (duration and a status
 * code mapped from the final SIP response). Rows are claimed with a lease, so an immediate
 * attempt from the API and the background loop of any instance never sync the same row at
 * once; failures keep the row pending with exponential backoff, across restarts.
 *
 * @module
 */
import type { CallRepo, CallRow } from "../db/calls.ts";
import type { Portal, PortalRepo } from "../db/portals.ts";
import { log } from "../log.ts";
import type { PortalClients } from "./portal_clients.ts";
import { BitrixApiError } from "./rest.ts";

/**
 * How long a claimed row is reserved for one sync attempt, then another instance may retry it
 * (after a crash). Longer than the SDK's own retries of one call can take.
 */
const LEASE_MS = 300_000;

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
  private stopped = true;

  private readonly backoff: (attempts: number) => number;
  private readonly blockedBackoff: (blockedForMs: number) => number;
  private readonly leaseMs: number;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly deps: CallSyncDeps,
    options: {
      backoffMs?: (attempts: number) => number;
      /** Given how long the portal has refused the app. */
      blockedBackoffMs?: (blockedForMs: number) => number;
      leaseMs?: number;
    } = {},
  ) {
    this.backoff = options.backoffMs ?? backoffMs;
    this.blockedBackoff = options.blockedBackoffMs ?? blockedBackoffMs;
    this.leaseMs = options.leaseMs ?? LEASE_MS;
  }

  /** Tries `callId` now if it is due (used right after a phone reports). */
  syncNow(callId: string): Promise<CallRow | undefined> {
    return this.track(async () => {
      const row = await this.deps.calls.claimById(callId, this.leaseMs);
      if (row) await this.syncRow(row);
      return row;
    });
  }

  /**
   * Syncs up to `limit` due rows; returns how many were attempted. Click-to-calls nobody dialled
   * within `UNDIALLED_MS` are ended first, so their cards get finished too.
   */
  runOnce(limit = 20): Promise<number> {
    return this.track(async () => {
      await this.deps.calls.endUndialledClickToCalls(new Date(Date.now() - UNDIALLED_MS));
      const rows = await this.deps.calls.claimDue(limit, this.leaseMs);
      for (const row of rows) await this.syncRow(row);
      return rows.length;
    });
  }

  private track<T>(fn: () => Promise<T>): Promise<T> {
    const promise = fn();
    this.inflight.add(promise);
    promise.finally(() => this.inflight.delete(promise)).catch(() => {});
    return promise;
  }

  /** Polls for due rows every `intervalMs` until `stop()`. */
  start(intervalMs = 2000): void {
    this.stopped = false;
    const tick = async () => {
      if (this.stopped) return;
      await this.runOnce().catch((err) => log.warn("call sync pass failed", { error: err }));
      if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, 0);
  }

  /** Stops polling and waits for the attempts in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await Promise.allSettled([...this.inflight]);
  }

  private async syncRow(row: CallRow): Promise<void> {
    const portal = await this.deps.portals.findById(row.portalId);
    if (!portal?.installed) {
      await this.deps.calls.markRetry(
        row.id,
        "portal not installed",
        this.backoff(row.syncAttempts),
      );
      return;
    }
    if (awaitsClickToCallEvent(row)) {
      await this.deps.calls.markRetry(row.id, "waiting for ONEXTERNALCALLSTART", 5000);
      return;
    }
    try {
      let bitrixCallId = row.bitrixCallId;
      if (!row.registeredInBitrix || !bitrixCallId) {
        bitrixCallId = await this.register(portal, row);
        await this.deps.calls.markRegistered(row.id, bitrixCallId);
        this.deps.counters.registered++;
      }
      if (!row.endedAt) {
        await this.deps.calls.markWaitingForEnd(row.id);
        if (portal.blockedReason) await this.deps.portals.setBlocked(portal.id, null);
        return;
      }
      const client = await this.deps.clients.forPortal(portal);
      await client.call("telephony.externalcall.finish", {
        CALL_ID: bitrixCallId,
        USER_ID: row.bitrixUserId,
        DURATION: row.answeredAt ? row.durationSec ?? 0 : 0,
        STATUS_CODE: statusCodeFor(row),
        ...(row.failedReason ? { FAILED_REASON: row.failedReason } : {}),
      });
      await this.deps.calls.markFinished(row.id);
      this.deps.counters.finished++;
      if (portal.blockedReason) await this.deps.portals.setBlocked(portal.id, null);
    } catch (err) {
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
        await this.deps.calls.markHeld(row.id, code, delay);
        return;
      }
      // Bitrix24 refused the data itself (unknown user, bad number, call not found): retrying
      // cannot help. Rate limits, outages and token trouble are retried with backoff.
      if (err instanceof BitrixApiError && !err.transient && !err.unauthorized) {
        log.warn("call sync refused by Bitrix24; giving up", { callId: row.id, code });
        await this.deps.calls.markFailed(row.id, err.message);
        return;
      }
      const delay = this.backoff(row.syncAttempts);
      log.warn("call sync failed; will retry", { callId: row.id, code, delayMs: delay });
      await this.deps.calls.markRetry(row.id, code, delay);
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
