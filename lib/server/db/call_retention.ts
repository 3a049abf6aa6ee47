/**
 * Retention of the call journal: a periodic pass deletes each portal's calls that started
 * longer ago than the portal's `callRetentionDays` setting (default
 * {@link DEFAULT_CALL_RETENTION_DAYS}, 365 days; Bitrix24 keeps its own call history). A row
 * still waiting for Bitrix24 (`pending`) is kept until it is synced or given up.
 *
 * Rows go in batches of `batchSize` (one short statement each, through the
 * `calls_portal_started_idx` index) with a pause between batches, so a first pass over years
 * of history never holds long locks or starves the app's own queries. Portals are read in
 * pages of {@link PORTAL_PAGE} by id. Every instance may run the pass: two deleting the same
 * batch only wait for each other's row locks.
 *
 * @module
 */
import { and, asc, eq, gt, inArray, lt, ne } from "drizzle-orm";
import { DEFAULT_CALL_RETENTION_DAYS, portalSettingsSchema } from "../../shared/api/widget.ts";
import { log } from "../log.ts";
import type { Db } from "./client.ts";
import { calls, portals } from "./schema.ts";

/** Portals read per page of a pass. */
const PORTAL_PAGE = 500;
const DAY_MS = 86_400_000;

/** How a {@link CallRetention} pass runs. */
export interface CallRetentionOptions {
  /** Rows deleted per statement. @defaultValue 1,000 */
  batchSize?: number;
  /** The pause between two batches. @defaultValue 20 ms */
  pauseMs?: number;
  /** The time passes measure from. @defaultValue `() => new Date()` */
  now?: () => Date;
}

const retentionDays = portalSettingsSchema.shape.callRetentionDays;

/** Deletes old calls per portal's retention setting, once or periodically. */
export class CallRetention {
  private readonly batchSize: number;
  private readonly pauseMs: number;
  private readonly now: () => Date;
  private timer?: ReturnType<typeof setTimeout>;
  /** Set by `stop()`: a pass in progress ends after its current batch. */
  private stopped = false;
  private running?: Promise<unknown>;

  constructor(private readonly db: Db, options: CallRetentionOptions = {}) {
    this.batchSize = options.batchSize ?? 1000;
    this.pauseMs = options.pauseMs ?? 20;
    this.now = options.now ?? (() => new Date());
  }

  /** One pass over every portal; returns how many calls it deleted. */
  async runOnce(): Promise<number> {
    let deleted = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.db.select({ id: portals.id, settings: portals.settings })
        .from(portals).where(after === undefined ? undefined : gt(portals.id, after))
        .orderBy(asc(portals.id)).limit(PORTAL_PAGE);
      for (const portal of page) {
        if (this.stopped) break;
        const days = retentionDays.safeParse(portal.settings?.callRetentionDays);
        const keepDays = days.success ? days.data : DEFAULT_CALL_RETENTION_DAYS;
        deleted += await this.prunePortal(
          portal.id,
          new Date(this.now().getTime() - keepDays * DAY_MS),
        );
      }
      if (page.length < PORTAL_PAGE) break;
      after = page[page.length - 1].id;
    }
    if (deleted > 0) log.info("old calls deleted", { deleted });
    return deleted;
  }

  /** Deletes the portal's calls started before `cutoff`, batch by batch. */
  private async prunePortal(portalId: string, cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = this.db.select({ id: calls.id }).from(calls).where(and(
        eq(calls.portalId, portalId),
        lt(calls.startedAt, cutoff),
        ne(calls.syncState, "pending"),
      )).limit(this.batchSize);
      const gone = await this.db.delete(calls).where(inArray(calls.id, batch))
        .returning({ id: calls.id });
      deleted += gone.length;
      if (gone.length < this.batchSize || this.stopped) break;
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
    return deleted;
  }

  /** Runs a pass after `firstDelayMs`, then every `intervalMs`, until `stop()`. */
  start(intervalMs = 3_600_000, firstDelayMs = 60_000): void {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.runOnce().catch((error) =>
        log.warn("call retention pass failed", { error })
      );
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
    };
    this.timer = setTimeout(tick, firstDelayMs);
  }

  /** Stops the periodic pass (a pass in progress ends after its current batch). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
