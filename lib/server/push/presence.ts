/**
 * Which users have a phone online. Each instance counts its own open streams per user and
 * writes them to `push_presence` (one row per instance and user): at once when a user's first
 * stream opens or the last one closes, and all of them in one statement every refresh
 * interval. A user is online when this instance holds a stream of theirs, or another
 * instance's row was refreshed within the stale interval (an instance that died without
 * deleting its rows stops counting after that, and its rows are pruned later).
 *
 * @module
 */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { pushPresence } from "../db/schema.ts";
import { log } from "../log.ts";

/** One instance's presence rows. */
export class Presence {
  /** Open streams on this instance by `portalId:userId`. */
  readonly #local = new Map<string, { portalId: string; userId: number; streams: number }>();
  #writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly staleMs: number,
  ) {}

  /** A stream of the user opened on this instance. */
  opened(portalId: string, userId: number): void {
    const key = `${portalId}:${userId}`;
    const entry = this.#local.get(key) ?? { portalId, userId, streams: 0 };
    entry.streams++;
    this.#local.set(key, entry);
    if (entry.streams === 1) this.#write(() => this.#upsert([entry]));
  }

  /** A stream of the user closed on this instance. */
  closed(portalId: string, userId: number): void {
    const key = `${portalId}:${userId}`;
    const entry = this.#local.get(key);
    if (!entry) return;
    if (--entry.streams > 0) return;
    this.#local.delete(key);
    this.#write(() =>
      this.db.delete(pushPresence).where(and(
        eq(pushPresence.instanceId, this.instanceId),
        eq(pushPresence.portalId, portalId),
        eq(pushPresence.userId, userId),
      ))
    );
  }

  /** The user's open streams on this instance. */
  localStreams(portalId: string, userId: number): number {
    return this.#local.get(`${portalId}:${userId}`)?.streams ?? 0;
  }

  /** Whether the user has a stream open on any instance. */
  async isOnline(portalId: string, userId: number): Promise<boolean> {
    if (this.localStreams(portalId, userId) > 0) return true;
    const [row] = await this.db.select({ n: pushPresence.streams }).from(pushPresence).where(and(
      eq(pushPresence.portalId, portalId),
      eq(pushPresence.userId, userId),
      gt(pushPresence.seenAt, this.#freshSince()),
    )).limit(1);
    return row !== undefined;
  }

  /** The portal's users with a stream open on any instance, ascending. */
  async onlineUsers(portalId: string): Promise<number[]> {
    const rows = await this.db.selectDistinct({ userId: pushPresence.userId }).from(pushPresence)
      .where(and(eq(pushPresence.portalId, portalId), gt(pushPresence.seenAt, this.#freshSince())));
    const users = new Set(rows.map((r) => r.userId));
    for (const entry of this.#local.values()) {
      if (entry.portalId === portalId) users.add(entry.userId);
    }
    return [...users].sort((a, b) => a - b);
  }

  /** Refreshes this instance's rows (all in one statement); prunes long-dead instances' rows. */
  refresh(): Promise<void> {
    const entries = [...this.#local.values()];
    return this.#write(async () => {
      if (entries.length > 0) await this.#upsert(entries);
      await this.db.delete(pushPresence).where(lt(pushPresence.seenAt, this.#freshSince(10)));
    });
  }

  /** Deletes this instance's rows (shutdown). */
  async clear(): Promise<void> {
    this.#local.clear();
    await this.#write(() =>
      this.db.delete(pushPresence).where(eq(pushPresence.instanceId, this.instanceId))
    );
  }

  #freshSince(times = 1) {
    return sql`now() - make_interval(secs => ${(this.staleMs * times) / 1000})`;
  }

  #upsert(entries: { portalId: string; userId: number; streams: number }[]) {
    const rows = JSON.stringify(entries.map((e) => ({ p: e.portalId, u: e.userId, n: e.streams })));
    return this.db.execute(sql`
      insert into ${pushPresence} (instance_id, portal_id, user_id, streams, seen_at)
      select ${this.instanceId}, r.p, r.u, r.n, now()
      from json_to_recordset(${rows}::json) as r(p uuid, u int, n int)
      on conflict (instance_id, portal_id, user_id)
        do update set streams = excluded.streams, seen_at = now()`);
  }

  /**
   * Writes run one after another (a user's open and close must land in that order); a failed
   * write is logged and the next refresh repairs the rows.
   */
  #write(fn: () => Promise<unknown>): Promise<void> {
    const next = this.#writes.then(fn).then(
      () => {},
      (error) => log.warn("push presence write failed", { error }),
    );
    this.#writes = next;
    return next;
  }
}
