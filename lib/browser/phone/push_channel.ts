/**
 * The app's push stream, held once per phone by the engine's host (the SharedWorker, or the
 * elected tab), so many tabs never open many streams. Pages that can ask the app for a stream
 * ticket say so (`push-sub`); the channel asks one of them (`push-ticket`), opens an
 * `EventSource` with the URL it answers, and hands every message to every tab (`push`), each
 * once and in id order.
 *
 * ```text
 *        a page subscribes                  ticket URL answered
 *   off ──────────────────▶ ticketing ───────────────────────────▶ connecting ──open──▶ open
 *    ▲                         │ no answer in time, refused            │ error            │ error
 *    │ no page subscribed      ▼                                       ▼                  │ (dropped,
 *    └──────────────────── waiting ◀──────────────────────────────────────────────────────┘ ended)
 *                     backoff 1 s doubling to 30 s, with jitter; then ticketing again
 * ```
 *
 * Tickets are single-use, so `EventSource`'s own reconnect (which would repeat the used URL)
 * is never relied on: any error closes it and the channel reconnects with a new ticket and the
 * last id it saw (`lastEventId` in the query, since `EventSource` cannot send headers).
 *
 * @module
 */
import type { Clock, TimerId } from "./clock.ts";
import type { Tabs } from "./tabs.ts";
import type { Log } from "./types.ts";
import { parsePushEvent } from "../../shared/api/push.ts";

export type { PushEvent } from "../../shared/api/push.ts";

/** Where the channel is (in snapshots). */
export type PushState = "off" | "ticketing" | "connecting" | "open" | "waiting";

/** The parts of `EventSource` the channel uses (tests give a fake). */
export interface EventSourceLike {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: { data: string; lastEventId: string }) => void) | null;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

/** Opens a stream (`new EventSource(url)`). */
export type StreamFactory = (url: string) => EventSourceLike;

/** Collaborators and timings of a {@link PushChannel}. */
export interface PushChannelOptions {
  clock: Clock;
  random: () => number;
  log: Log;
  tabs: Tabs;
  /** @defaultValue `url => new EventSource(url)` */
  openStream?: StreamFactory;
  /** The state changed (a snapshot is due). */
  onChange: () => void;
  /** First reconnect delay. @defaultValue 1,000 ms */
  minDelayMs?: number;
  /** Longest reconnect delay. @defaultValue 30,000 ms */
  maxDelayMs?: number;
  /** How long a page may take to answer a ticket request. @defaultValue 10,000 ms */
  ticketTimeoutMs?: number;
}

/** The engine's one push stream. */
export class PushChannel {
  readonly #o: Required<Omit<PushChannelOptions, "openStream">> & { openStream: StreamFactory };
  #state: PushState = "off";
  #lastEventId?: number;
  #attempt = 0;
  #ticketSeq = 0;
  #ticket?: { id: number; tabId: string; timer: TimerId };
  #source?: EventSourceLike;
  #retry?: TimerId;

  constructor(options: PushChannelOptions) {
    this.#o = {
      ...options,
      minDelayMs: options.minDelayMs ?? 1000,
      maxDelayMs: options.maxDelayMs ?? 30_000,
      ticketTimeoutMs: options.ticketTimeoutMs ?? 10_000,
      openStream: options.openStream ??
        ((url) => new EventSource(url) as unknown as EventSourceLike),
    };
  }

  /** The channel's state. */
  get state(): PushState {
    return this.#state;
  }

  /** The id of the last message handed to the tabs. */
  get lastEventId(): number | undefined {
    return this.#lastEventId;
  }

  /**
   * A page says the last id it got (in its hello): an engine that has seen none (a new host
   * after a takeover) resumes after it.
   */
  seen(lastEventId: number | undefined): void {
    if (lastEventId === undefined || this.#lastEventId !== undefined) return;
    if (Number.isSafeInteger(lastEventId) && lastEventId >= 0) this.#lastEventId = lastEventId;
  }

  /** Tabs or their subscriptions changed: connect when someone can get tickets, else stop. */
  update(): void {
    if (!this.#o.tabs.pushProvider()) return this.#stop();
    if (this.#ticket && !this.#o.tabs.get(this.#ticket.tabId)?.push) {
      // The page asked for the ticket left: ask another at once.
      this.#o.clock.clearTimeout(this.#ticket.timer);
      this.#ticket = undefined;
      return this.#requestTicket();
    }
    if (this.#state === "off") this.#requestTicket();
  }

  /** A page answered a ticket request. */
  ticketResult(id: number, ok: boolean, url?: string, error?: string): void {
    const pending = this.#ticket;
    if (!pending || pending.id !== id) return;
    this.#o.clock.clearTimeout(pending.timer);
    this.#ticket = undefined;
    if (!ok || !url) {
      this.#o.log("warn", "push: no stream ticket", error);
      return this.#retryLater();
    }
    this.#open(url);
  }

  /** Closes the stream for good (the host is going away). */
  close(): void {
    this.#stop();
  }

  #requestTicket(): void {
    const tabId = this.#o.tabs.pushProvider();
    if (!tabId) return this.#stop();
    const id = ++this.#ticketSeq;
    const timer = this.#o.clock.setTimeout(() => {
      if (this.#ticket?.id !== id) return;
      this.#ticket = undefined;
      this.#o.log("warn", "push: the page did not answer the ticket request");
      this.#retryLater();
    }, this.#o.ticketTimeoutMs);
    this.#ticket = { id, tabId, timer };
    this.#setState("ticketing");
    this.#o.tabs.send(tabId, { t: "push-ticket", id });
  }

  #open(url: string): void {
    const resume = this.#lastEventId === undefined
      ? url
      : `${url}${url.includes("?") ? "&" : "?"}lastEventId=${this.#lastEventId}`;
    let source: EventSourceLike;
    try {
      source = this.#o.openStream(resume);
    } catch (error) {
      this.#o.log("warn", "push: the stream could not be opened", String(error));
      return this.#retryLater();
    }
    this.#source = source;
    this.#setState("connecting");
    source.onopen = () => {
      if (this.#source !== source) return;
      this.#attempt = 0;
      this.#setState("open");
    };
    source.onmessage = (event) => {
      if (this.#source !== source) return;
      const message = parsePushEvent(event.lastEventId, event.data);
      if (!message) return;
      if (this.#lastEventId !== undefined && message.id <= this.#lastEventId) return;
      this.#lastEventId = message.id;
      this.#o.tabs.broadcast({ t: "push", event: message });
      this.#o.onChange(); // the snapshot's last id
    };
    source.onerror = () => {
      if (this.#source !== source) return;
      // Dropped, ended by the server, or refused (a used ticket): never EventSource's retry.
      this.#closeSource();
      this.#retryLater();
    };
  }

  #retryLater(): void {
    this.#closeSource();
    if (!this.#o.tabs.pushProvider()) return this.#stop();
    const base = Math.min(this.#o.maxDelayMs, this.#o.minDelayMs * 2 ** this.#attempt);
    const delay = Math.round(base * (0.5 + this.#o.random() / 2));
    this.#attempt = Math.min(this.#attempt + 1, 16);
    this.#o.clock.clearTimeout(this.#retry);
    this.#retry = this.#o.clock.setTimeout(() => {
      this.#retry = undefined;
      this.#requestTicket();
    }, delay);
    this.#setState("waiting");
  }

  #stop(): void {
    this.#closeSource();
    if (this.#ticket) this.#o.clock.clearTimeout(this.#ticket.timer);
    this.#ticket = undefined;
    this.#o.clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#attempt = 0;
    this.#setState("off");
  }

  #closeSource(): void {
    const source = this.#source;
    this.#source = undefined;
    if (!source) return;
    source.onopen = source.onmessage = source.onerror = null;
    source.close();
  }

  #setState(state: PushState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#o.onChange();
  }
}
