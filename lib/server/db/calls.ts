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

/** One sync attempt's hold on a row (see {@link CallRepo.claimDue}). */
export interface Claim {
  id: string;
  claimId: string;
}

/** A row as a claim holds it. */
export type ClaimedRow = CallRow & Claim;

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
   * makes it due for sync. An end with status 200 was answered `durationSec` before it, which
   * it records when no answer report has (the answer's report may come later, or never).
   */
  async recordEnd(
    portalId: string,
    userId: number,
    sipCallId: string,
    end: { at: Date; sipStatus: number; durationSec: number },
  ): Promise<CallRow | undefined> {
    const answeredAt = end.sipStatus === 200
      ? new Date(end.at.getTime() - end.durationSec * 1000).toISOString()
      : null;
    const [row] = await this.db.update(calls).set({
      answeredAt: sql`coalesce(${calls.answeredAt}, ${answeredAt}::timestamptz)`,
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

  /**
   * Ends calls no end was reported for since `before` (the phone vanished mid-call): with the
   * status of what is known (200 answered, else 408), no talk time, `reason`, due for sync, so
   * Bitrix24's card and statistics close too. Click-to-calls nobody dialled have their own
   * sweep. Returns how many.
   */
  async closeAbandoned(before: Date, reason: string): Promise<number> {
    const now = new Date();
    const rows = await this.db.update(calls).set({
      endedAt: now,
      sipStatus: sql`case when ${calls.answeredAt} is null then 408 else 200 end`,
      durationSec: 0,
      failedReason: reason,
      syncState: "pending",
      nextSyncAt: now,
      updatedAt: now,
    }).where(and(
      sql`${calls.endedAt} is null`,
      sql`${calls.startedAt} < ${before.toISOString()}::timestamptz`,
      sql`${calls.sipCallId} not like 'bitrix24:%'`,
    )).returning({ id: calls.id });
    return rows.length;
  }

  /**
   * Claims up to `limit` due rows for sync, at most `perPortal` of any one portal and none of a
   * portal another attempt holds rows of (any instance's) or of `skipPortals` (those whose rate
   * limit is spent here). Each claim
   * lasts `leaseMs` unless renewed ({@link renewClaims}); a lapsed claim may be taken over
   * (`claimTakenOver`). Within a portal, users take turns: every user's oldest due row comes
   * before anyone's second, so a flood of one user's rows never delays the others'.
   */
  async claimDue(
    limit: number,
    leaseMs: number,
    options: { perPortal?: number; skipPortals?: string[] } = {},
  ): Promise<ClaimedRow[]> {
    return await this.db.transaction(async (tx) => {
      const now = new Date();
      // A portal some attempt (of any instance) is serving is left to it: one server per
      // portal keeps its requests within the portal's rate limit and in order.
      const served =
        sql`exists (select 1 from ${calls} as held where held.portal_id = ${calls.portalId}
        and held.claim_id is not null and held.claimed_until > ${now.toISOString()}::timestamptz)`;
      const conditions = [this.claimable(now), sql`not ${served}`];
      if (options.skipPortals?.length) {
        conditions.push(
          sql`${calls.portalId} <> all(${`{${options.skipPortals.join(",")}}`}::uuid[])`,
        );
      }
      const isDue = and(...conditions);
      const userTurn =
        sql`partition by ${calls.portalId}, ${calls.bitrixUserId} order by ${calls.nextSyncAt}`;
      const queue = tx.$with("queue").as(
        tx.select({
          id: sql<string>`${calls.id}`.as("queued_id"),
          portalId: sql<string>`${calls.portalId}`.as("queued_portal_id"),
          turn: sql<number>`row_number() over (${userTurn})`.as("turn"),
        }).from(calls).where(isDue),
      );
      const ranked = tx.$with("ranked").as(
        tx.with(queue).select({
          id: sql<string>`${queue.id}`.as("ranked_id"),
          turn: sql<number>`${queue.turn}`.as("ranked_turn"),
          portalTurn: sql<
            number
          >`row_number() over (partition by ${queue.portalId} order by ${queue.turn})`
            .as("portal_turn"),
        }).from(queue),
      );
      const due = await tx.with(ranked).select({ id: calls.id }).from(calls)
        .innerJoin(ranked, eq(ranked.id, calls.id))
        .where(and(isDue, lte(ranked.portalTurn, options.perPortal ?? limit)))
        .orderBy(ranked.portalTurn, ranked.turn, calls.nextSyncAt).limit(limit)
        .for("update", { of: calls, skipLocked: true });
      if (due.length === 0) return [];
      return await tx.update(calls).set(this.claimSet(now, leaseMs))
        .where(sql`${calls.id} in ${due.map((d) => d.id)}`)
        .returning() as ClaimedRow[];
    });
  }

  /** Claims one row for an immediate sync if it is due and nobody holds a live claim on it. */
  async claimById(id: string, leaseMs: number): Promise<ClaimedRow | undefined> {
    const now = new Date();
    const [row] = await this.db.update(calls).set(this.claimSet(now, leaseMs))
      .where(and(eq(calls.id, id), this.claimable(now))).returning();
    return row as ClaimedRow | undefined;
  }

  /** Due for sync and not held by a live claim (`now` is this process's clock, as the writes'). */
  private claimable(now: Date) {
    return and(
      eq(calls.syncState, "pending"),
      lte(calls.nextSyncAt, now),
      sql`(${calls.claimId} is null or ${calls.claimedUntil} < ${now.toISOString()}::timestamptz)`,
    );
  }

  /** A new claim of `leaseMs`, noting whether it takes over one that lapsed. */
  private claimSet(now: Date, leaseMs: number) {
    return {
      claimId: sql`gen_random_uuid()`,
      claimedUntil: new Date(now.getTime() + leaseMs),
      claimTakenOver: sql`${calls.claimId} is not null`,
    };
  }

  /** Extends the claims still held to `leaseMs` from now; returns those that were still held. */
  async renewClaims(claims: Claim[], leaseMs: number): Promise<Claim[]> {
    if (claims.length === 0) return [];
    const pairs = sql.join(claims.map((c) => sql`(${c.id}::uuid, ${c.claimId}::uuid)`), sql`, `);
    return await this.db.update(calls)
      .set({ claimedUntil: new Date(Date.now() + leaseMs) })
      .where(sql`(${calls.id}, ${calls.claimId}) in (${pairs})`)
      .returning({ id: calls.id, claimId: sql<string>`${calls.claimId}` });
  }

  /** The row as it is now, while `claim` still holds it. */
  async reread(claim: Claim): Promise<ClaimedRow | undefined> {
    const [row] = await this.db.select().from(calls).where(this.held(claim));
    return row as ClaimedRow | undefined;
  }

  /** The condition that `claim` still holds its row. */
  private held(claim: Claim) {
    return and(eq(calls.id, claim.id), eq(calls.claimId, claim.claimId));
  }

  /** The columns that end a claim. */
  private static readonly released = { claimId: null, claimedUntil: null, claimTakenOver: false };

  /**
   * Stores Bitrix24's CALL_ID once the call is registered there; returns the row as it is now
   * (a report may have ended it meanwhile), or undefined when the claim was lost.
   */
  async markRegistered(claim: Claim, bitrixCallId: string): Promise<ClaimedRow | undefined> {
    const [row] = await this.db.update(calls).set({
      bitrixCallId,
      registeredInBitrix: true,
      updatedAt: new Date(),
    }).where(this.held(claim)).returning();
    return row as ClaimedRow | undefined;
  }

  /** Marks the Bitrix24 side finished and releases the row: nothing more to sync. */
  async markFinished(claim: Claim): Promise<void> {
    await this.db.update(calls).set({
      ...CallRepo.released,
      finishedInBitrix: true,
      syncState: "synced",
      lastSyncError: null,
      updatedAt: new Date(),
    }).where(this.held(claim));
  }

  /**
   * Releases a registered live call until its end is reported (which makes it due again).
   * False when it ended meanwhile (or the claim was lost): the claim then still holds it.
   */
  async releaseUntilEnd(claim: Claim): Promise<boolean> {
    const rows = await this.db.update(calls).set({
      ...CallRepo.released,
      syncState: "synced",
      lastSyncError: null,
      updatedAt: new Date(),
    }).where(and(this.held(claim), sql`${calls.endedAt} is null`)).returning({ id: calls.id });
    return rows.length > 0;
  }

  /**
   * Releases the row for another attempt after `delayMs`, or gives up (`failed`) past
   * `maxAttempts`.
   */
  async markRetry(claim: Claim, error: string, delayMs: number, maxAttempts = 50): Promise<void> {
    await this.db.update(calls).set({
      ...CallRepo.released,
      syncAttempts: sql`${calls.syncAttempts} + 1`,
      syncState:
        sql`case when ${calls.syncAttempts} + 1 >= ${maxAttempts} then 'failed' else 'pending' end`,
      nextSyncAt: new Date(Date.now() + delayMs),
      lastSyncError: error.slice(0, 500),
      updatedAt: new Date(),
    }).where(this.held(claim));
  }

  /**
   * Releases the row until `delayMs` from now without counting an attempt: the portal refuses
   * the app (payment, `invalid_client`) however long that lasts, or its rate limit is spent.
   */
  async markHeld(claim: Claim, error: string | null, delayMs: number): Promise<void> {
    await this.db.update(calls).set({
      ...CallRepo.released,
      nextSyncAt: new Date(Date.now() + delayMs),
      ...(error === null ? {} : { lastSyncError: error.slice(0, 500) }),
      updatedAt: new Date(),
    }).where(this.held(claim));
  }

  /**
   * Makes the portal's rows waiting out a retry backoff due now (the portal answers again, so
   * they need not wait for their backoff). Returns how many.
   */
  async retryPortalNow(portalId: string): Promise<number> {
    const now = new Date();
    const rows = await this.db.update(calls).set({ nextSyncAt: now }).where(and(
      eq(calls.syncState, "pending"),
      eq(calls.portalId, portalId),
      sql`${calls.nextSyncAt} > ${now.toISOString()}::timestamptz`,
      sql`${calls.syncAttempts} > 0`,
      sql`${calls.claimId} is null`,
    )).returning({ id: calls.id });
    return rows.length;
  }

  /** Gives up on a row Bitrix24 refused for good (kept, with the reason, for the admin). */
  async markFailed(claim: Claim, error: string): Promise<void> {
    await this.db.update(calls).set({
      ...CallRepo.released,
      syncAttempts: sql`${calls.syncAttempts} + 1`,
      syncState: "failed",
      lastSyncError: error.slice(0, 500),
      updatedAt: new Date(),
    }).where(this.held(claim));
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
