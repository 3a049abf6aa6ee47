/**
 * The push channel from the app to each user's phone: one Server-Sent Events stream per browser
 * (the phone engine's host holds it), messages with per-user ids, replay after a drop, and
 * delivery across app instances through PostgreSQL `LISTEN`/`NOTIFY` (PGlite: the same in
 * process). No other service: the database is the bus and the store.
 *
 * ```text
 * publish(portal, user, type, data)                       any instance
 *   └─ one statement: next id (push_users) + row (push_messages) + pg_notify("push", message)
 *                                   │ at commit
 *            ┌──────────────────────┴──────────────────────┐
 *   instance A LISTEN push                        instance B LISTEN push
 *     streams of that user: send                    streams of that user: send
 *                                                   (a gap in the ids: read the table)
 * ```
 *
 * - **Tickets** (`tickets.ts`): a frame-authenticated `POST` issues one; the stream is opened
 *   with it (single use, a minute).
 * - **Replay**: messages stay in `push_messages` until they expire (`ttlMs` per message,
 *   default 5 minutes, at most an hour): the table is the only store, every instance reads the
 *   same; a stream that resumes with `Last-Event-ID` gets what it missed, in order. Instances
 *   keep no ring of their own: a resume reaches any instance, and one indexed read per resume
 *   costs less than keeping every user's recent messages in every instance's memory.
 * - **Heartbeats**: a comment every `heartbeatMs` (15 s) on every stream; a stream is ended after
 *   `maxStreamMs` (an hour), so the phone asks for a new ticket with a frame token that is still
 *   valid.
 * - **The listen is watched**: each heartbeat tick the instance notifies itself a ping; when the
 *   previous ping never came back (the listening connection was lost and postgres.js could not
 *   listen again while the database was down), it listens again and every stream catches up
 *   from the table.
 * - **Presence** (`presence.ts`): which users have a stream open, on this instance or another.
 *
 * @module
 */
import { sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { RateLimitedError } from "../errors.ts";
import { log } from "../log.ts";
import { KeyedBuckets } from "../rate_limit.ts";
import { MAX_DATA_BYTES, parseNotified, PUSH_CHANNEL, PushMessages } from "./messages.ts";
import { Presence } from "./presence.ts";
import { PushStream } from "./stream.ts";
import { PushTickets, type TicketOwner } from "./tickets.ts";

export type { TicketOwner } from "./tickets.ts";
export type { PushMessage } from "./messages.ts";

/** Timings and limits of a {@link PushHub}; tests shorten them. */
export interface PushHubOptions {
  /** This instance's id in presence rows. @defaultValue a random UUID */
  instanceId?: string;
  /** Heartbeat comments and the listen check. @defaultValue 15 s */
  heartbeatMs?: number;
  /** Presence rows refreshed. @defaultValue 30 s */
  presenceRefreshMs?: number;
  /** A presence row not refreshed for this long no longer counts. @defaultValue 90 s */
  presenceStaleMs?: number;
  /** A ticket's life. @defaultValue 60 s */
  ticketTtlMs?: number;
  /** A message's life when its publisher says nothing. @defaultValue 5 minutes */
  messageTtlMs?: number;
  /** A stream's longest life (then the phone reconnects with a new ticket). @defaultValue 1 h */
  maxStreamMs?: number;
  /** Streams one user may hold open on one instance. @defaultValue 8 */
  maxStreamsPerUser?: number;
  /** Expired messages, tickets and dead presence rows deleted. @defaultValue 60 s */
  pruneMs?: number;
  /** EventSource's reconnect delay, sent to clients. @defaultValue 3 s */
  retryMs?: number;
}

/** Longest life a publisher may give a message. */
const MAX_MESSAGE_TTL_MS = 3_600_000;

/** Message types: lower-case words. */
const TYPE_PATTERN = /^[a-z][a-z0-9_.-]{0,39}$/;

/** Counters of the push channel (`/metrics`). */
export interface PushCounters {
  published: number;
  delivered: number;
  relistens: number;
}

/** The push channel of one app instance. */
export class PushHub {
  readonly instanceId: string;
  readonly counters: PushCounters = { published: 0, delivered: 0, relistens: 0 };
  readonly #database: Pick<Database, "db" | "listen">;
  readonly #messages: PushMessages;
  readonly #tickets: PushTickets;
  readonly #presence: Presence;
  readonly #streams = new Map<string, Set<PushStream>>();
  readonly #ticketBudget = new KeyedBuckets({ burst: 20, perSecond: 0.5 });
  readonly #o: Required<Omit<PushHubOptions, "instanceId">>;
  #unlisten?: () => Promise<void>;
  #listening = false;
  #pingSent = 0;
  #pingSeen = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #started?: Promise<void>;
  #stopped = false;

  constructor(database: Pick<Database, "db" | "listen">, options: PushHubOptions = {}) {
    this.#database = database;
    this.instanceId = options.instanceId ?? crypto.randomUUID();
    this.#o = {
      heartbeatMs: options.heartbeatMs ?? 15_000,
      presenceRefreshMs: options.presenceRefreshMs ?? 30_000,
      presenceStaleMs: options.presenceStaleMs ?? 90_000,
      ticketTtlMs: options.ticketTtlMs ?? 60_000,
      messageTtlMs: options.messageTtlMs ?? 300_000,
      maxStreamMs: options.maxStreamMs ?? 3_600_000,
      maxStreamsPerUser: options.maxStreamsPerUser ?? 8,
      pruneMs: options.pruneMs ?? 60_000,
      retryMs: options.retryMs ?? 3_000,
    };
    this.#messages = new PushMessages(database.db);
    this.#tickets = new PushTickets(database.db, this.#o.ticketTtlMs);
    this.#presence = new Presence(database.db, this.instanceId, this.#o.presenceStaleMs);
  }

  /** Open streams on this instance. */
  get streamCount(): number {
    let n = 0;
    for (const set of this.#streams.values()) n += set.size;
    return n;
  }

  /** Whether the instance listens for notifications now. */
  get listening(): boolean {
    return this.#listening;
  }

  /** A ticket's life in seconds. */
  get ticketTtlSeconds(): number {
    return Math.round(this.#o.ticketTtlMs / 1000);
  }

  /**
   * Starts listening (retried by the heartbeat tick until it succeeds) and the timers. Call
   * after migrations.
   */
  start(): Promise<void> {
    if (this.#started) return this.#started;
    const every = (ms: number, fn: () => unknown) => this.#timers.push(setInterval(fn, ms));
    every(this.#o.heartbeatMs, () => this.#tick());
    every(this.#o.presenceRefreshMs, () => this.#presence.refresh());
    every(this.#o.pruneMs, () => this.#prune());
    return this.#started = this.#listen();
  }

  /** Ends every stream, stops listening and deletes this instance's presence. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    for (const set of [...this.#streams.values()]) for (const s of [...set]) s.close();
    await this.#unlisten?.().catch(() => {});
    this.#listening = false;
    await this.#presence.clear();
  }

  /** Issues a stream ticket for a verified frame user (429 past the user's budget). */
  issueTicket(portalId: string, userId: number): Promise<string> {
    if (!this.#ticketBudget.take(`${portalId}:${userId}`)) {
      throw new RateLimitedError("too many push tickets; retry shortly");
    }
    return this.#tickets.issue(portalId, userId);
  }

  /** Redeems a ticket: whose stream it opens, or undefined (unknown, used, expired). */
  redeemTicket(ticket: string): Promise<TicketOwner | undefined> {
    return this.#tickets.redeem(ticket);
  }

  /**
   * Sends a message to the user's phones, on every instance; resolves to its id. `ttlMs`: how
   * long a phone that reconnects still gets it.
   */
  async publish(
    portalId: string,
    userId: number,
    type: string,
    data: Record<string, unknown>,
    options: { ttlMs?: number } = {},
  ): Promise<number> {
    if (!TYPE_PATTERN.test(type)) throw new Error(`invalid push message type: ${type}`);
    if (new TextEncoder().encode(JSON.stringify(data)).length > MAX_DATA_BYTES) {
      throw new Error(`push message data over ${MAX_DATA_BYTES} bytes`);
    }
    const ttl = Math.min(Math.max(options.ttlMs ?? this.#o.messageTtlMs, 1000), MAX_MESSAGE_TTL_MS);
    const id = await this.#messages.publish(portalId, userId, type, data, ttl);
    this.counters.published++;
    return id;
  }

  /**
   * Opens a stream for the user (its body is the response): replays after `lastEventId`, then
   * sends what is notified. 429 when the user holds too many on this instance.
   */
  openStream(portalId: string, userId: number, lastEventId?: number): PushStream {
    const key = `${portalId}:${userId}`;
    const set = this.#streams.get(key) ?? new Set<PushStream>();
    if (set.size >= this.#o.maxStreamsPerUser) {
      throw new RateLimitedError("too many push streams of this user");
    }
    const stream = new PushStream(portalId, userId, this.#messages, {
      lastEventId,
      now: Date.now(),
      retryMs: this.#o.retryMs,
      onSent: (n) => void (this.counters.delivered += n),
      onClose: (closed) => {
        const streams = this.#streams.get(key);
        if (!streams?.delete(closed)) return;
        if (streams.size === 0) this.#streams.delete(key);
        this.#presence.closed(portalId, userId);
      },
    });
    set.add(stream);
    this.#streams.set(key, set);
    this.#presence.opened(portalId, userId);
    return stream;
  }

  /** Whether the user has a phone online (a stream open on any instance). */
  isOnline(portalId: string, userId: number): Promise<boolean> {
    return this.#presence.isOnline(portalId, userId);
  }

  /** The portal's users with a phone online. */
  onlineUsers(portalId: string): Promise<number[]> {
    return this.#presence.onlineUsers(portalId);
  }

  /** Ends the streams of a portal's users on this instance (uninstall), or of one user. */
  closeStreams(portalId: string, userId?: number): void {
    for (const [key, set] of [...this.#streams]) {
      if (!key.startsWith(`${portalId}:`)) continue;
      if (userId !== undefined && key !== `${portalId}:${userId}`) continue;
      for (const stream of [...set]) stream.close();
    }
  }

  #onNotify(payload: string): void {
    if (payload.startsWith('{"ping"')) {
      try {
        const ping = JSON.parse(payload) as { ping: string; n: number };
        if (ping.ping === this.instanceId) this.#pingSeen = Math.max(this.#pingSeen, ping.n);
      } catch {
        // not ours
      }
      return;
    }
    const message = parseNotified(payload);
    if (!message) return;
    const streams = this.#streams.get(`${message.portalId}:${message.userId}`);
    if (!streams) return;
    for (const stream of streams) stream.deliver(message);
  }

  async #listen(): Promise<void> {
    try {
      const unlisten = await this.#database.listen(
        PUSH_CHANNEL,
        (payload) => this.#onNotify(payload),
        () => {
          // Notifications sent while the connection was away are lost: read them.
          if (this.#listening) this.#catchUpAll();
        },
      );
      if (this.#stopped) return void await unlisten().catch(() => {});
      this.#unlisten = unlisten;
      this.#listening = true;
      this.#pingSeen = this.#pingSent;
    } catch (error) {
      log.warn("push: LISTEN failed; retrying", { error });
    }
  }

  /** Heartbeats, stream lifetimes, and the listen check. */
  async #tick(): Promise<void> {
    const now = Date.now();
    for (const set of this.#streams.values()) {
      for (const stream of [...set]) {
        if (now - stream.openedAt >= this.#o.maxStreamMs) stream.close();
        else stream.heartbeat();
      }
    }
    if (this.#stopped) return;
    if (!this.#listening || this.#pingSeen < this.#pingSent) {
      if (this.#listening) log.warn("push: a ping did not come back; listening again");
      this.counters.relistens++;
      this.#listening = false;
      await this.#unlisten?.().catch(() => {});
      this.#unlisten = undefined;
      await this.#listen();
      if (this.#listening) this.#catchUpAll();
      if (!this.#listening) return;
    }
    const n = ++this.#pingSent;
    await this.#database.db.execute(
      sqlNotify(JSON.stringify({ ping: this.instanceId, n })),
    ).catch((error) => {
      // The database is away: the next tick sees the ping missing and listens again.
      log.debug("push: ping failed", { error });
    });
  }

  #catchUpAll(): void {
    for (const set of this.#streams.values()) for (const stream of set) stream.catchUp();
  }

  async #prune(): Promise<void> {
    try {
      await this.#messages.prune();
      await this.#tickets.prune();
    } catch (error) {
      log.debug("push: prune failed", { error });
    }
  }
}

function sqlNotify(payload: string) {
  return sql`select pg_notify(${PUSH_CHANNEL}, ${payload})`;
}
