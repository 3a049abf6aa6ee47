/**
 * Calls repository: the call journal reported by phones, and the queue of rows whose Bitrix24
 * side (register, finish) is still to be done. A row is one user's leg of a call, keyed by
 * (portal, user, SIP Call-ID): a report only ever reaches its own user's rows. Claiming rows for
 * sync uses `FOR UPDATE SKIP LOCKED` plus a lease on `next_sync_at`, so several app instances
 * never sync the same row at once, and takes the users' oldest rows in turns, so one user's
 * backlog never holds up another's calls.
 *
 * @module
 */
import { and, desc, eq, lte, ne, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { calls } from "./schema.ts";

/** A journal row. */
export type CallRow = typeof calls.$inferSelect;

/** The start of a call as a phone reports it. */
export interface CallStart {
  portalId: string;
  bitrixUserId: number;
  sipCallId: string;
  direction: "inbound" | "outbound";
  phoneNumber: string;
  startedAt: Date;
  /**
   * Bitrix24's CALL_ID of the click-to-call card the phone dialled for. It is trusted only once
   * the portal's own ONEXTERNALCALLSTART names the same call and user (see {@link CallRepo}).
   */
  bitrixCallId?: string | null;
}

/** What one user's phone may start (see {@link CallRepo.recordStartWithin}). */
export interface StartLimits {
  /** Calls started within `liveWindowMs` and not ended. */
  liveCalls: number;
  /** After this, a call never ended (its phone died mid-call) no longer counts as live. */
  liveWindowMs: number;
  /** Calls started in the last minute. */
  startsPerMinute: number;
}

/** Which limit refused a start. */
export type StartRefusal = "live_calls" | "starts_per_minute";

/** How a CRM click-to-call event met the journal. */
export type ClickToCallOutcome =
  /** The phone had not dialled yet: a placeholder row waits for it. */
  | "recorded"
  /** The phone dialled first (its card came before the event): its row is now confirmed. */
  | "confirmed"
  /** Bitrix24 repeated the event. */
  | "repeated";

/** The SIP Call-ID of a click-to-call row before the phone has dialled. */
export function clickToCallPlaceholder(bitrixCallId: string): string {
  return `bitrix24:${bitrixCallId}`;
}

/**
 * Whether two forms of a phone number are the same line: Bitrix24's event gives E.164
 * (`+74951234567`) where the CRM and its card keep the user's digits (`84951234567`), so the
 * national significant part (the last ten digits, or all of a shorter number) is compared.
 */
export function sameNumber(a: string, b: string): boolean {
  const x = a.replace(/\D/g, "");
  const y = b.replace(/\D/g, "");
  if (!x || !y) return false;
  if (x.length < 10 || y.length < 10) return x === y;
  return x.slice(-10) === y.slice(-10);
}

/** Reads and writes the call journal. */
export class CallRepo {
  /** The insert of every ONEXTERNALCALLSTART, built once (query building is its main cost). */
  private readonly insertClickToCall;
  /** The last start of each `portal:user` being checked and stored (see `recordStartWithin`). */
  private readonly startsInProgress = new Map<string, Promise<unknown>>();

  constructor(private readonly db: Db) {
    this.insertClickToCall = db.insert(calls).values({
      id: sql.placeholder("id"),
      portalId: sql.placeholder("portalId"),
      bitrixUserId: sql.placeholder("bitrixUserId"),
      bitrixCallId: sql.placeholder("bitrixCallId"),
      phoneNumber: sql.placeholder("phoneNumber"),
      startedAt: sql.placeholder("startedAt"),
      sipCallId: sql.placeholder("sipCallId"),
      direction: "outbound",
      origin: "click_to_call",
      registeredInBitrix: true,
      syncState: "synced",
    }).onConflictDoNothing().returning({ id: calls.id }).prepare("insert_click_to_call");
  }

  /**
   * Records the start of a user's call; a retry with the same SIP Call-ID returns that user's
   * existing row unchanged (`created: false`). A click-to-call start takes over the row the same
   * user's ONEXTERNALCALLSTART created (found by `bitrixCallId`, or by number for a phone that
   * does not know the card). A `bitrixCallId` with no such row yet (the card came before the
   * event) is kept unconfirmed: the event confirms it, and a call it never confirms is registered
   * as the phone's own (so a forged id can never finish somebody else's call).
   */
  async recordStart(start: CallStart): Promise<{ call: CallRow; created: boolean }> {
    const claimed = start.bitrixCallId ?? undefined;
    const pending = claimed ??
      (start.direction === "outbound" ? await this.pendingClickToCall(start) : undefined);
    if (pending) {
      const [linked] = await this.db.update(calls).set({
        sipCallId: start.sipCallId,
        startedAt: start.startedAt,
        updatedAt: new Date(),
      }).where(and(
        eq(calls.portalId, start.portalId),
        eq(calls.bitrixUserId, start.bitrixUserId),
        eq(calls.bitrixCallId, pending),
        eq(calls.sipCallId, clickToCallPlaceholder(pending)),
      )).returning();
      if (linked) return { call: linked, created: true };
    }
    const inserted = await this.db.insert(calls).values({
      id: crypto.randomUUID(),
      ...start,
      bitrixCallId: claimed ?? null,
      origin: claimed ? "click_to_call" : "phone",
      registeredInBitrix: false,
      // Due now by this process's clock, which `claimById` compares with (the database's own
      // `now()` has microseconds, so a claim within the same millisecond would miss the row).
      nextSyncAt: new Date(),
    }).onConflictDoNothing({ target: [calls.portalId, calls.bitrixUserId, calls.sipCallId] })
      .returning();
    const stored = async () =>
      (await this.find(start.portalId, start.bitrixUserId, start.sipCallId))!;
    if (inserted[0]) {
      if (!claimed) return { call: inserted[0], created: true };
      // The event may have landed between the link attempt and this insert.
      await this.reconcileClickToCall(start.portalId, start.bitrixUserId, claimed);
      return { call: await stored(), created: true };
    }
    return { call: await stored(), created: false };
  }

  /**
   * Records a start as {@link recordStart} does unless the user is at one of `limits`. A user's
   * starts are checked and stored one at a time in this process, so a burst of concurrent
   * requests cannot all pass the check before any is stored (each instance holds the limits on
   * its own); other users' starts never wait for them.
   */
  async recordStartWithin(
    start: CallStart,
    limits: StartLimits,
  ): Promise<{ call: CallRow; created: boolean } | { refused: StartRefusal }> {
    const key = `${start.portalId}:${start.bitrixUserId}`;
    const previous = this.startsInProgress.get(key) ?? Promise.resolve();
    const turn = previous.catch(() => {}).then(async () => {
      const now = Date.now();
      const load = await this.reportLoad(start.portalId, start.bitrixUserId, {
        liveSince: new Date(now - limits.liveWindowMs),
        startsSince: new Date(now - 60_000),
      });
      if (load.live >= limits.liveCalls) return { refused: "live_calls" as const };
      if (load.starts >= limits.startsPerMinute) return { refused: "starts_per_minute" as const };
      return await this.recordStart(start);
    });
    this.startsInProgress.set(key, turn);
    try {
      return await turn;
    } finally {
      if (this.startsInProgress.get(key) === turn) this.startsInProgress.delete(key);
    }
  }

  /**
   * Whether Bitrix24 gave `bitrixCallId` to another user of the portal: a row of theirs the
   * portal confirmed (their click-to-call, or a call registered for them) holds it. An
   * unconfirmed claim proves nothing (anyone may send any id), so it never counts.
   */
  async isAnotherUsersCall(
    portalId: string,
    bitrixCallId: string,
    userId: number,
  ): Promise<boolean> {
    const [row] = await this.db.select({ id: calls.id }).from(calls).where(and(
      eq(calls.portalId, portalId),
      eq(calls.bitrixCallId, bitrixCallId),
      ne(calls.bitrixUserId, userId),
      eq(calls.registeredInBitrix, true),
    )).limit(1);
    return row !== undefined;
  }

  /**
   * How much a user's phone has reported lately: calls started since `liveSince` and not ended
   * (`live`), and calls started since `startsSince` (`starts`). Click-to-calls no phone dialled
   * are Bitrix24's, not the user's, and not counted.
   */
  async reportLoad(
    portalId: string,
    userId: number,
    since: { liveSince: Date; startsSince: Date },
  ): Promise<{ live: number; starts: number }> {
    const live = since.liveSince.toISOString();
    const starts = since.startsSince.toISOString();
    const oldest = since.liveSince < since.startsSince ? live : starts;
    const isLive = sql`${calls.endedAt} is null and ${calls.startedAt} > ${live}::timestamptz`;
    const isRecent = sql`${calls.startedAt} > ${starts}::timestamptz`;
    const [row] = await this.db.select({
      live: sql<number>`(count(*) filter (where ${isLive}))::int`,
      starts: sql<number>`(count(*) filter (where ${isRecent}))::int`,
    }).from(calls).where(and(
      eq(calls.portalId, portalId),
      eq(calls.bitrixUserId, userId),
      sql`${calls.startedAt} > ${oldest}::timestamptz`,
      sql`${calls.sipCallId} not like 'bitrix24:%'`,
    ));
    return { live: row?.live ?? 0, starts: row?.starts ?? 0 };
  }

  /**
   * The CALL_ID of a click-to-call of this user to this number from the last two minutes that
   * no phone has claimed yet (any page of the user may be the one reporting the dial).
   */
  private async pendingClickToCall(start: CallStart): Promise<string | undefined> {
    if (!start.phoneNumber.replace(/\D/g, "")) return undefined;
    const rows = await this.db.select({ id: calls.bitrixCallId, number: calls.phoneNumber })
      .from(calls).where(and(
        eq(calls.portalId, start.portalId),
        eq(calls.bitrixUserId, start.bitrixUserId),
        eq(calls.origin, "click_to_call"),
        sql`${calls.sipCallId} like 'bitrix24:%'`,
        sql`${calls.createdAt} > now() - interval '2 minutes'`,
      )).orderBy(desc(calls.createdAt));
    return rows.find((r) => sameNumber(r.number, start.phoneNumber))?.id ?? undefined;
  }

  /**
   * Ends click-to-calls no phone dialled (created before `before`): cancelled (487), due for
   * sync, so Bitrix24's card for them is finished. Returns how many.
   */
  async endUndialledClickToCalls(before: Date): Promise<number> {
    const now = new Date();
    const rows = await this.db.update(calls).set({
      endedAt: now,
      sipStatus: 487,
      durationSec: 0,
      syncState: "pending",
      nextSyncAt: now,
      updatedAt: now,
    }).where(and(
      eq(calls.origin, "click_to_call"),
      sql`${calls.sipCallId} like 'bitrix24:%'`,
      sql`${calls.endedAt} is null`,
      lte(calls.createdAt, before),
    )).returning({ id: calls.id });
    return rows.length;
  }

  /** The call Bitrix24 knows as `bitrixCallId` in the portal (of `userId`, when given). */
  async findByBitrixCallId(
    portalId: string,
    bitrixCallId: string,
    userId?: number,
  ): Promise<CallRow | undefined> {
    const conditions = [eq(calls.portalId, portalId), eq(calls.bitrixCallId, bitrixCallId)];
    if (userId !== undefined) conditions.push(eq(calls.bitrixUserId, userId));
    const [row] = await this.db.select().from(calls).where(and(...conditions))
      .orderBy(desc(calls.createdAt)).limit(1);
    return row;
  }

  /**
   * Records a CRM click-to-call (ONEXTERNALCALLSTART): Bitrix24 already registered `CALL_ID`.
   * When the user's phone already dialled for that card, its row is confirmed (and due for
   * sync); otherwise a placeholder row waits for the phone to dial.
   */
  async recordClickToCall(
    input: Omit<CallStart, "sipCallId" | "direction" | "bitrixCallId"> & { bitrixCallId: string },
  ): Promise<ClickToCallOutcome> {
    const [confirmed] = await this.db.update(calls).set({
      registeredInBitrix: true,
      nextSyncAt: new Date(),
      updatedAt: new Date(),
    }).where(and(
      eq(calls.portalId, input.portalId),
      eq(calls.bitrixUserId, input.bitrixUserId),
      eq(calls.bitrixCallId, input.bitrixCallId),
      eq(calls.origin, "click_to_call"),
      eq(calls.registeredInBitrix, false),
    )).returning({ id: calls.id });
    if (confirmed) return "confirmed";
    const sipCallId = clickToCallPlaceholder(input.bitrixCallId);
    const inserted = await this.insertClickToCall.execute({
      id: crypto.randomUUID(),
      portalId: input.portalId,
      bitrixUserId: input.bitrixUserId,
      bitrixCallId: input.bitrixCallId,
      phoneNumber: input.phoneNumber,
      startedAt: input.startedAt,
      sipCallId,
    });
    if (inserted.length === 0) return "repeated";
    // The phone's dial may have landed between the confirm attempt and this insert.
    const merged = await this.reconcileClickToCall(
      input.portalId,
      input.bitrixUserId,
      input.bitrixCallId,
    );
    return merged ? "confirmed" : "recorded";
  }

  /**
   * Joins a click-to-call's placeholder and the same user's unconfirmed dial for that CALL_ID
   * when both exist (the event and the dial crossed): the placeholder goes, the dial is
   * confirmed. Whichever of the two writes lands last sees the other; returns whether it joined.
   */
  private async reconcileClickToCall(
    portalId: string,
    userId: number,
    bitrixCallId: string,
  ): Promise<boolean> {
    const same = and(
      eq(calls.portalId, portalId),
      eq(calls.bitrixUserId, userId),
      eq(calls.bitrixCallId, bitrixCallId),
      eq(calls.origin, "click_to_call"),
    );
    const [dial] = await this.db.select({ id: calls.id }).from(calls).where(and(
      same,
      eq(calls.registeredInBitrix, false),
      sql`${calls.sipCallId} not like 'bitrix24:%'`,
    ));
    if (!dial) return false;
    const removed = await this.db.delete(calls).where(
      and(same, eq(calls.sipCallId, clickToCallPlaceholder(bitrixCallId))),
    ).returning({ id: calls.id });
    if (removed.length === 0) return false;
    await this.db.update(calls).set({
      registeredInBitrix: true,
      nextSyncAt: new Date(),
      updatedAt: new Date(),
    }).where(eq(calls.id, dial.id));
    return true;
  }

  /**
   * Ends a click-to-call no phone can dial (started in the mobile app, which shows no card):
   * at once, with `sipStatus` and a reason in words, due for sync.
   */
  async endUndialledClickToCall(
    portalId: string,
    bitrixCallId: string,
    end: { sipStatus: number; failedReason: string },
  ): Promise<CallRow | undefined> {
    const now = new Date();
    const [row] = await this.db.update(calls).set({
      endedAt: now,
      sipStatus: end.sipStatus,
      durationSec: 0,
      failedReason: end.failedReason,
      syncState: "pending",
      nextSyncAt: now,
      updatedAt: now,
    }).where(and(
      eq(calls.portalId, portalId),
      eq(calls.sipCallId, clickToCallPlaceholder(bitrixCallId)),
      sql`${calls.endedAt} is null`,
    )).returning();
    return row;
  }

  /** The user's call with this SIP Call-ID in the portal. */
  async find(portalId: string, userId: number, sipCallId: string): Promise<CallRow | undefined> {
    const [row] = await this.db.select().from(calls).where(this.leg(portalId, userId, sipCallId));
    return row;
  }

  /** The condition selecting one user's leg of a call. */
  private leg(portalId: string, userId: number, sipCallId: string) {
    return and(
      eq(calls.portalId, portalId),
      eq(calls.bitrixUserId, userId),
      eq(calls.sipCallId, sipCallId),
    );
  }

  /** Marks the user's call answered (first report wins). */
  async recordAnswer(
    portalId: string,
    userId: number,
    sipCallId: string,
    at: Date,
  ): Promise<CallRow | undefined> {
    const [row] = await this.db.update(calls).set({
      answeredAt: sql`coalesce(${calls.answeredAt}, ${at.toISOString()}::timestamptz)`,
      updatedAt: new Date(),
    }).where(this.leg(portalId, userId, sipCallId)).returning();
    return row;
  }

  /**
   * Marks the user's call ended with its final SIP status and duration (first report wins) and
   * makes it due for sync.
   */
  async recordEnd(
    portalId: string,
    userId: number,
    sipCallId: string,
    end: { at: Date; sipStatus: number; durationSec: number },
  ): Promise<CallRow | undefined> {
    const [row] = await this.db.update(calls).set({
      endedAt: end.at,
      sipStatus: end.sipStatus,
      durationSec: end.durationSec,
      syncState: "pending",
      nextSyncAt: new Date(),
      updatedAt: new Date(),
    }).where(and(this.leg(portalId, userId, sipCallId), sql`${calls.endedAt} is null`))
      .returning();
    return row ?? await this.find(portalId, userId, sipCallId);
  }

  /** Sets Bitrix24's CALL_ID once the call is registered there. */
  async markRegistered(id: string, bitrixCallId: string): Promise<void> {
    await this.db.update(calls).set({
      bitrixCallId,
      registeredInBitrix: true,
      updatedAt: new Date(),
    }).where(eq(calls.id, id));
  }

  /** Marks the Bitrix24 side finished: nothing more to sync. */
  async markFinished(id: string): Promise<void> {
    await this.db.update(calls).set({
      finishedInBitrix: true,
      syncState: "synced",
      lastSyncError: null,
      updatedAt: new Date(),
    }).where(eq(calls.id, id));
  }

  /** Marks a live call as registered and not yet due (it is finished when it ends). */
  async markWaitingForEnd(id: string): Promise<void> {
    await this.db.update(calls).set({
      syncState: "synced",
      lastSyncError: null,
      updatedAt: new Date(),
    }).where(and(eq(calls.id, id), sql`${calls.endedAt} is null`));
  }

  /**
   * Schedules another attempt after `delayMs`, or gives up (`failed`) past `maxAttempts`; a row
   * another attempt has meanwhile synced stays synced.
   */
  async markRetry(id: string, error: string, delayMs: number, maxAttempts = 50): Promise<void> {
    await this.db.update(calls).set({
      syncAttempts: sql`${calls.syncAttempts} + 1`,
      syncState:
        sql`case when ${calls.syncAttempts} + 1 >= ${maxAttempts} then 'failed' else 'pending' end`,
      nextSyncAt: new Date(Date.now() + delayMs),
      lastSyncError: error.slice(0, 500),
      updatedAt: new Date(),
    }).where(and(eq(calls.id, id), eq(calls.syncState, "pending")));
  }

  /**
   * Postpones a row while the portal refuses the app (payment, `invalid_client`): not counted
   * as an attempt, so the row is never given up, however long that lasts.
   */
  async markHeld(id: string, error: string, delayMs: number): Promise<void> {
    await this.db.update(calls).set({
      nextSyncAt: new Date(Date.now() + delayMs),
      lastSyncError: error.slice(0, 500),
      updatedAt: new Date(),
    }).where(and(eq(calls.id, id), eq(calls.syncState, "pending")));
  }

  /** Gives up on a row Bitrix24 refused for good (kept, with the reason, for the admin). */
  async markFailed(id: string, error: string): Promise<void> {
    await this.db.update(calls).set({
      syncAttempts: sql`${calls.syncAttempts} + 1`,
      syncState: "failed",
      lastSyncError: error.slice(0, 500),
      updatedAt: new Date(),
    }).where(and(eq(calls.id, id), eq(calls.syncState, "pending")));
  }

  /**
   * Claims up to `limit` due rows for sync and leases them for `leaseMs` (other instances skip
   * them until the lease ends or the row is marked). Users take turns: every user's oldest due
   * row comes before anyone's second, so a flood of one user's rows never delays the others'.
   */
  async claimDue(limit: number, leaseMs: number): Promise<CallRow[]> {
    return await this.db.transaction(async (tx) => {
      const isDue = and(eq(calls.syncState, "pending"), lte(calls.nextSyncAt, new Date()));
      const userQueue =
        sql`partition by ${calls.portalId}, ${calls.bitrixUserId} order by ${calls.nextSyncAt}`;
      const queue = tx.$with("queue").as(
        tx.select({
          id: sql<string>`${calls.id}`.as("queued_id"),
          turn: sql<number>`row_number() over (${userQueue})`.as("turn"),
        }).from(calls).where(isDue),
      );
      const due = await tx.with(queue).select({ id: calls.id }).from(calls)
        .innerJoin(queue, eq(queue.id, calls.id)).where(isDue)
        .orderBy(queue.turn, calls.nextSyncAt).limit(limit)
        .for("update", { of: calls, skipLocked: true });
      if (due.length === 0) return [];
      const ids = due.map((d) => d.id);
      return await tx.update(calls).set({ nextSyncAt: new Date(Date.now() + leaseMs) }).where(
        sql`${calls.id} in ${ids}`,
      ).returning();
    });
  }

  /** Claims one row for an immediate sync if it is due and not leased by someone else. */
  async claimById(id: string, leaseMs: number): Promise<CallRow | undefined> {
    const [row] = await this.db.update(calls).set({
      nextSyncAt: new Date(Date.now() + leaseMs),
    }).where(and(
      eq(calls.id, id),
      eq(calls.syncState, "pending"),
      lte(calls.nextSyncAt, new Date()),
    )).returning();
    return row;
  }

  /** Rows still waiting for Bitrix24 (the sync backlog). */
  async countPending(): Promise<number> {
    const [row] = await this.db.select({ n: sql<number>`count(*)::int` }).from(calls).where(
      eq(calls.syncState, "pending"),
    );
    return row?.n ?? 0;
  }

  /** The newest calls of a portal, of one user when `userId` is given. */
  async list(
    portalId: string,
    opts: { userId?: number; limit?: number; before?: Date } = {},
  ): Promise<CallRow[]> {
    const conditions = [eq(calls.portalId, portalId)];
    if (opts.userId !== undefined) conditions.push(eq(calls.bitrixUserId, opts.userId));
    if (opts.before) conditions.push(sql`${calls.startedAt} < ${opts.before.toISOString()}`);
    return await this.db.select().from(calls).where(and(...conditions))
      .orderBy(desc(calls.startedAt)).limit(Math.min(opts.limit ?? 50, 200));
  }
}
