/**
 * Reads a Server-Sent Events body the way `EventSource` parses it (fields `id`, `event`,
 * `data`, `retry`; comment lines), for tests that must see comments and exact ids.
 *
 * @module
 */

/** One dispatched event, or a comment line. */
export type SseItem =
  | { kind: "event"; id?: string; event: string; data: string }
  | { kind: "comment"; text: string }
  | { kind: "retry"; ms: number };

/** Reads `body` item by item; `next(timeoutMs)` rejects when nothing comes in time. */
export class SseReader {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #decoder = new TextDecoder();
  #buffer = "";
  #items: SseItem[] = [];
  #done = false;

  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }

  /** Whether the server ended the stream. */
  get done(): boolean {
    return this.#done && this.#items.length === 0;
  }

  /** The next item; rejects after `timeoutMs` or when the stream ends first. */
  async next(timeoutMs = 5000): Promise<SseItem> {
    const deadline = Date.now() + timeoutMs;
    while (this.#items.length === 0) {
      if (this.#done) throw new Error("the stream ended");
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SSE item within ${timeoutMs} ms`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        this.#reader.read(),
        new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), left)),
      ]).finally(() => clearTimeout(timer));
      if (chunk === "timeout") continue;
      if (chunk.done) {
        this.#done = true;
        continue;
      }
      this.#buffer += this.#decoder.decode(chunk.value, { stream: true });
      this.#parse();
    }
    return this.#items.shift()!;
  }

  /** The next dispatched event (skipping comments and `retry`). */
  async nextEvent(timeoutMs = 5000): Promise<{ id?: string; event: string; data: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const item = await this.next(Math.max(1, deadline - Date.now()));
      if (item.kind === "event") return item;
    }
  }

  /** Resolves once the server has ended the stream (items before the end are dropped). */
  async ended(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await this.next(Math.max(1, deadline - Date.now()));
      } catch (err) {
        if (this.#done) return;
        throw err;
      }
    }
  }

  /** Stops reading (the client goes away). */
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }

  #parse(): void {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end < 0) return;
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      let id: string | undefined;
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) {
          this.#items.push({ kind: "comment", text: line.slice(1).trim() });
          continue;
        }
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
        if (field === "id") id = value;
        else if (field === "event") event = value;
        else if (field === "data") data.push(value);
        else if (field === "retry") this.#items.push({ kind: "retry", ms: Number(value) });
      }
      if (data.length > 0) this.#items.push({ kind: "event", id, event, data: data.join("\n") });
    }
  }
}
