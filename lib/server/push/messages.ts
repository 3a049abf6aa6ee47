/**
 * The push messages' table: a publish takes the user's next id and stores the message and
 * notifies every instance in one statement; a stream that resumes reads what it missed.
 *
 * Ids are per user (`push_users.last_seq`, bumped under that row's lock), so one user's
 * messages commit, and their notifications arrive, in id order: a stream that got id `n` and
 * is then notified of `n + 1` needs no query. Messages live until their `expires_at` (a few
 * minutes: a request to dial is stale after that) and are deleted by {@link PushMessages.prune}.
 *
 * @module
 */
import { and, asc, eq, gt, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { pushMessages, pushUsers } from "../db/schema.ts";

/** The `LISTEN`/`NOTIFY` channel of push messages (and the instances' pings). */
export const PUSH_CHANNEL = "push";

/** A message as streams send it: its id (per user), type and data. */
export interface PushMessage {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/** A message as the notification carries it: for whom, and the message. */
export interface Notified extends PushMessage {
  portalId: string;
  userId: number;
}

/** Largest message data, as JSON (a notification's payload is limited to 8,000 bytes). */
export const MAX_DATA_BYTES = 4000;

/** Messages read per query when a stream catches up. */
export const CATCH_UP_PAGE = 200;

/** The push messages' table. */
export class PushMessages {
  constructor(private readonly db: Db) {}

  /**
   * Stores a message for the user and notifies every listening instance (at commit);
   * resolves to its id.
   */
  async publish(
    portalId: string,
    userId: number,
    type: string,
    data: Record<string, unknown>,
    ttlMs: number,
  ): Promise<number> {
    const json = JSON.stringify(data);
    const rows = rowsOf<{ seq: number }>(
      await this.db.execute(sql`
        with s as (
          insert into ${pushUsers} (portal_id, user_id, last_seq)
          values (${portalId}, ${userId}, 1)
          on conflict (portal_id, user_id)
            do update set last_seq = ${pushUsers}.last_seq + 1
          returning last_seq
        ), m as (
          insert into ${pushMessages} (portal_id, user_id, seq, type, data, expires_at)
          select ${portalId}, ${userId}, last_seq, ${type}, ${json}::jsonb,
            now() + make_interval(secs => ${ttlMs / 1000})
          from s
          returning seq
        )
        select seq, pg_notify(${PUSH_CHANNEL}, json_build_object(
          'p', ${portalId}::text, 'u', ${userId}::int, 's', seq, 't', ${type}::text,
          'd', ${json}::json
        )::text) from m`),
    );
    return Number(rows[0].seq);
  }

  /** The user's newest message id (0 before the first). */
  async lastId(portalId: string, userId: number): Promise<number> {
    const [row] = await this.db.select({ seq: pushUsers.lastSeq }).from(pushUsers)
      .where(and(eq(pushUsers.portalId, portalId), eq(pushUsers.userId, userId)));
    return row?.seq ?? 0;
  }

  /** The user's unexpired messages after `afterId`, oldest first (at most a page). */
  async after(portalId: string, userId: number, afterId: number): Promise<PushMessage[]> {
    const rows = await this.db.select({
      id: pushMessages.seq,
      type: pushMessages.type,
      data: pushMessages.data,
    }).from(pushMessages).where(and(
      eq(pushMessages.portalId, portalId),
      eq(pushMessages.userId, userId),
      gt(pushMessages.seq, afterId),
      gt(pushMessages.expiresAt, sql`now()`),
    )).orderBy(asc(pushMessages.seq)).limit(CATCH_UP_PAGE);
    return rows;
  }

  /** Deletes expired messages. */
  async prune(): Promise<void> {
    await this.db.delete(pushMessages).where(lt(pushMessages.expiresAt, sql`now()`));
  }
}

/** Reads a notification's payload: a message, or undefined for anything else. */
export function parseNotified(payload: string): Notified | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  const v = value as { p?: unknown; u?: unknown; s?: unknown; t?: unknown; d?: unknown };
  if (
    typeof v?.p !== "string" || typeof v.u !== "number" || typeof v.s !== "number" ||
    typeof v.t !== "string" || typeof v.d !== "object" || v.d === null
  ) return undefined;
  return {
    portalId: v.p,
    userId: v.u,
    id: v.s,
    type: v.t,
    data: v.d as Record<string, unknown>,
  };
}

/** Rows of a raw `execute` (postgres.js answers an array, PGlite `{ rows }`). */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return (result as { rows: T[] }).rows;
}
