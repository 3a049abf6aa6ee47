/**
 * The call journal's outbox: start, answer and end of every call go to exactly one subscribed
 * page (the reporter, {@link Tabs.journalReporter}), which posts them to `/api/calls` and
 * acknowledges. An entry the page could not deliver is sent again after
 * {@link JOURNAL_RETRY_MS}; one sent to a page that left (or unsubscribed) goes to the next
 * reporter. Entries live in memory only, oldest first; past {@link JOURNAL_OUTBOX_LIMIT} the
 * oldest is dropped.
 *
 * Delivery of one entry:
 *
 * ```
 *   Queued ──flush: sent to the reporter──▶ Sent ──ack ok──▶ Delivered
 *   Sent ──the reporter left or unsubscribed──▶ Queued
 *   Queued, Sent ──ack failed: retry later──▶ Delayed ──retry due, flush──▶ Sent
 *   Queued, Delayed ──a late ack ok──▶ Delivered
 *   Queued, Sent, Delayed ──outbox over its limit: the oldest goes──▶ Dropped
 * ```
 *
 * Delivered and Dropped entries leave the outbox. Any page's acknowledgement counts (a late
 * one from a page that left is still a delivery).
 *
 * @module
 */
import type { Clock, TimerId } from "./clock.ts";
import type { Edges } from "./state_machine.ts";
import { StateMachine } from "./state_machine.ts";
import type { Tabs } from "./tabs.ts";
import type { CallInfo, JournalEntry } from "./types.ts";

/** Delivery states of one journal entry. */
export enum JournalDelivery {
  Queued = "queued",
  Sent = "sent",
  Delayed = "delayed",
  Delivered = "delivered",
  Dropped = "dropped",
}

/** Allowed delivery transitions (the diagram above). */
export const JOURNAL_DELIVERY_EDGES: Edges<JournalDelivery> = {
  [JournalDelivery.Queued]: [
    JournalDelivery.Sent,
    JournalDelivery.Delayed,
    JournalDelivery.Delivered,
    JournalDelivery.Dropped,
  ],
  [JournalDelivery.Sent]: [
    JournalDelivery.Delivered,
    JournalDelivery.Queued,
    JournalDelivery.Delayed,
    JournalDelivery.Dropped,
  ],
  [JournalDelivery.Delayed]: [
    JournalDelivery.Sent,
    JournalDelivery.Delivered,
    JournalDelivery.Dropped,
  ],
  [JournalDelivery.Delivered]: [],
  [JournalDelivery.Dropped]: [],
};

/** Most entries kept; past it the oldest is dropped. */
export const JOURNAL_OUTBOX_LIMIT = 500;
/** Delay before an entry a page failed to deliver is sent again, ms. */
export const JOURNAL_RETRY_MS = 5000;

/** The journal entry of `phase` of a call, as of `now`. */
export function journalEntry(
  info: CallInfo,
  phase: JournalEntry["phase"],
  entryId: string,
  now: number,
): JournalEntry {
  const entry: JournalEntry = {
    entryId,
    phase,
    sipCallId: info.sipCallId,
    callId: info.id,
    direction: info.direction,
    number: info.number,
    at: now,
    callStartedAt: info.startedAt,
  };
  if (info.bitrixCallId) entry.bitrixCallId = info.bitrixCallId;
  if (phase === "end") {
    entry.sipStatus = info.sipStatus;
    entry.reason = info.endReason;
    entry.durationSec = info.answeredAt
      ? Math.max(0, Math.round(((info.endedAt ?? now) - info.answeredAt) / 1000))
      : 0;
  }
  return entry;
}

/** Options of {@link JournalOutbox}. */
export interface JournalOutboxOptions {
  clock: Clock;
  /** Who reports, and the way to it. */
  tabs: Pick<Tabs, "journalReporter" | "send">;
  /** @defaultValue {@link JOURNAL_OUTBOX_LIMIT} */
  limit?: number;
}

interface OutboxItem {
  entry: JournalEntry;
  delivery: StateMachine<JournalDelivery>;
  /** The tab it was sent to (state Sent). */
  sentTo?: string;
  /** When it may be sent again (state Delayed). */
  retryAt?: number;
}

/** Entries waiting for a page's acknowledgement, oldest first. */
export class JournalOutbox {
  readonly #clock: Clock;
  readonly #tabs: JournalOutboxOptions["tabs"];
  readonly #limit: number;
  readonly #items: OutboxItem[] = [];
  #retryTimer?: TimerId;

  constructor(options: JournalOutboxOptions) {
    this.#clock = options.clock;
    this.#tabs = options.tabs;
    this.#limit = options.limit ?? JOURNAL_OUTBOX_LIMIT;
  }

  /** Entries not yet acknowledged, oldest first, with their delivery state. */
  get entries(): { entry: JournalEntry; state: JournalDelivery }[] {
    return this.#items.map((i) => ({ entry: i.entry, state: i.delivery.state }));
  }

  /** Queues an entry and sends what can be sent. */
  add(entry: JournalEntry): void {
    const delivery = new StateMachine(
      `journal ${entry.entryId}`,
      JournalDelivery.Queued,
      JOURNAL_DELIVERY_EDGES,
    );
    this.#items.push({ entry, delivery });
    if (this.#items.length > this.#limit) {
      this.#items.shift()!.delivery.transition(JournalDelivery.Dropped);
    }
    this.flush();
  }

  /** A page acknowledged an entry: delivered (`ok`), or to be sent again later. */
  ack(entryId: string, ok: boolean): void {
    const index = this.#items.findIndex((i) => i.entry.entryId === entryId);
    if (index < 0) return;
    const item = this.#items[index];
    if (ok) {
      item.delivery.transition(JournalDelivery.Delivered);
      this.#items.splice(index, 1);
      return;
    }
    item.delivery.transition(JournalDelivery.Delayed);
    item.sentTo = undefined;
    item.retryAt = this.#clock.now() + JOURNAL_RETRY_MS;
    this.#scheduleRetry();
  }

  /** `tabId` will not acknowledge (it left or unsubscribed): its entries go to the next reporter. */
  release(tabId: string): void {
    for (const item of this.#items) {
      if (item.sentTo !== tabId) continue;
      item.delivery.transition(JournalDelivery.Queued);
      item.sentTo = undefined;
    }
  }

  /** Sends every queued entry, and every delayed one that is due, to the reporter. */
  flush(): void {
    const reporter = this.#tabs.journalReporter();
    if (!reporter) return;
    const now = this.#clock.now();
    let delayed = false;
    for (const item of this.#items) {
      if (item.delivery.state === JournalDelivery.Sent) continue;
      if (item.retryAt && item.retryAt > now) {
        delayed = true;
        continue;
      }
      item.delivery.transition(JournalDelivery.Sent);
      item.sentTo = reporter;
      item.retryAt = undefined;
      this.#tabs.send(reporter, { t: "journal", entry: item.entry });
    }
    if (delayed) this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#retryTimer) return;
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined;
      this.flush();
    }, JOURNAL_RETRY_MS);
  }
}
