/**
 * One open push stream: a `text/event-stream` body for one user's phone. Messages go out in id
 * order, each once: the stream keeps the last id it sent (its cursor); a notified message right
 * after it is sent as it came, anything else (a gap: a missed notification, a resume with
 * `Last-Event-ID`) makes it read the table after the cursor. Deliveries run one at a time per
 * stream.
 *
 * ```text
 * retry: 3000                      (once: EventSource's reconnect delay)
 * : ok                             (once, so proxies and the browser see the stream at once)
 * id: 7                            (a message: its per-user id…)
 * data: {"type":"dial","data":{…}} (…and its type and data as JSON)
 * : hb                             (a heartbeat comment, every ~15 s)
 * ```
 *
 * A client that cannot keep up (more than {@link MAX_QUEUED_BYTES} waiting) is cut off: it
 * resumes with its last id.
 *
 * @module
 */
import { log } from "../log.ts";
import { CATCH_UP_PAGE, type PushMessage, type PushMessages } from "./messages.ts";

/** Bytes a stream may have queued for a slow client before it is closed. */
export const MAX_QUEUED_BYTES = 256 * 1024;

const encoder = new TextEncoder();

/** The SSE lines of a message. */
export function formatMessage(message: PushMessage): string {
  return `id: ${message.id}\ndata: ${
    JSON.stringify({ type: message.type, data: message.data })
  }\n\n`;
}

/** A user's open stream. */
export class PushStream {
  readonly body: ReadableStream<Uint8Array>;
  readonly openedAt: number;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #cursor = 0;
  #chain: Promise<void>;
  #closed = false;
  #onClose: (stream: PushStream) => void;
  #onSent?: (count: number) => void;

  constructor(
    readonly portalId: string,
    readonly userId: number,
    private readonly messages: Pick<PushMessages, "after" | "lastId">,
    options: {
      /** The client's `Last-Event-ID`: replay after it. Absent: only messages from now on. */
      lastEventId?: number;
      now: number;
      retryMs: number;
      onClose: (stream: PushStream) => void;
      onSent?: (count: number) => void;
    },
  ) {
    this.openedAt = options.now;
    this.#onClose = options.onClose;
    this.#onSent = options.onSent;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
        controller.enqueue(encoder.encode(`retry: ${options.retryMs}\n: ok\n\n`));
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0, size: (chunk) => chunk.byteLength });
    // Before anything notified is sent: the starting cursor, then what was missed.
    this.#chain = this.#run(async () => {
      const last = await messages.lastId(portalId, userId);
      const resumeFrom = options.lastEventId;
      // A counter behind the client's id was reset (the user's data deleted): start from it.
      this.#cursor = resumeFrom === undefined || resumeFrom > last ? last : resumeFrom;
      if (this.#cursor < last) await this.#catchUp();
    });
  }

  /** Whether the stream has been closed (by the client, the server, or a slow client). */
  get closed(): boolean {
    return this.#closed;
  }

  /** A message for this user was notified. */
  deliver(message: PushMessage): void {
    this.#chain = this.#chain.then(() =>
      this.#run(async () => {
        if (message.id <= this.#cursor) return;
        if (message.id === this.#cursor + 1) return this.#send([message]);
        await this.#catchUp();
      })
    );
  }

  /** Sends whatever the table holds after the cursor (after a lost notification). */
  catchUp(): void {
    this.#chain = this.#chain.then(() => this.#run(() => this.#catchUp()));
  }

  /** Writes a heartbeat comment. */
  heartbeat(): void {
    this.#write(": hb\n\n");
  }

  /** Ends the stream (the client reconnects with its last id). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // already closed or cancelled
    }
    this.#onClose(this);
  }

  async #catchUp(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      const page = await this.messages.after(this.portalId, this.userId, this.#cursor);
      if (page.length === 0) return;
      this.#send(page);
      if (page.length < CATCH_UP_PAGE) return;
    }
  }

  #send(messages: PushMessage[]): void {
    if (this.#closed) return;
    this.#write(messages.map(formatMessage).join(""));
    this.#cursor = messages[messages.length - 1].id;
    this.#onSent?.(messages.length);
  }

  #write(text: string): void {
    if (this.#closed) return;
    // desiredSize is minus the bytes the client has not read yet.
    if ((this.#controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) return this.close();
    try {
      this.#controller.enqueue(encoder.encode(text));
    } catch {
      this.close();
    }
  }

  /** Runs a delivery step; a database error closes the stream (the client resumes later). */
  async #run(step: () => Promise<void>): Promise<void> {
    if (this.#closed) return;
    try {
      await step();
    } catch (error) {
      log.warn("push stream delivery failed; closing it", { error });
      this.close();
    }
  }
}
