/**
 * A tiny observable: `addListener` returns an unsubscribe function. No framework dependency,
 * so UI layers (Preact signals, the Bitrix24 background page) adapt it themselves.
 *
 * @module
 */

/** Listener options. */
export interface ListenerOptions {
  /** Remove the listener after its first call. */
  once?: boolean;
}

/** Read side of an event stream. */
export interface Emitter<T> {
  /** Subscribes; returns a function that unsubscribes. */
  addListener(listener: (value: T) => void, options?: ListenerOptions): () => void;
  /** Unsubscribes a listener added before. */
  removeListener(listener: (value: T) => void): void;
}

/** Write side: `emit` calls listeners in subscription order; a throwing listener is reported, not fatal. */
export class EmitterImpl<T> implements Emitter<T> {
  #listeners: { fn: (value: T) => void; once: boolean }[] = [];

  addListener(listener: (value: T) => void, options: ListenerOptions = {}): () => void {
    this.#listeners.push({ fn: listener, once: options.once ?? false });
    return () => this.removeListener(listener);
  }

  removeListener(listener: (value: T) => void): void {
    this.#listeners = this.#listeners.filter((l) => l.fn !== listener);
  }

  /** Number of current listeners. */
  get size(): number {
    return this.#listeners.length;
  }

  emit(value: T): void {
    const current = this.#listeners;
    this.#listeners = current.filter((l) => !l.once);
    for (const l of current) {
      try {
        l.fn(value);
      } catch (error) {
        // A listener's bug must not break the engine's state updates.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  /** Drops every listener. */
  clear(): void {
    this.#listeners = [];
  }
}
