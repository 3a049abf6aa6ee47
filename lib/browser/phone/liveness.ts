/**
 * Tab liveness. Preferred: each tab holds a Web Lock named after itself for its whole life and
 * the engine host queues a request for the same lock, which is granted the moment the tab dies
 * (closed, navigated, crashed). Where Web Locks are denied (cross-site iframe with third-party
 * storage blocked) tabs send heartbeats instead and the host declares silent tabs dead.
 *
 * @module
 */

/** Heartbeat period of tabs without Web Locks, ms. */
export const HEARTBEAT_MS = 1000;
/** Silence after which a visible heartbeat tab is declared dead, ms. */
export const HEARTBEAT_TIMEOUT_MS = 4000;
/** The same for hidden tabs, whose timers browsers throttle to about once a minute, ms. */
export const HIDDEN_HEARTBEAT_TIMEOUT_MS = 75_000;

/**
 * Takes the tab's lifetime lock. Resolves true once granted (say hello only then: otherwise the
 * host could win the lock first and think the tab already dead), false when locks are denied.
 */
export function holdTabLock(name: string): Promise<boolean> {
  const locks = globalThis.navigator?.locks;
  if (!locks) return Promise.resolve(false);
  return new Promise((resolve) => {
    locks.request(name, () => {
      resolve(true);
      return new Promise<void>(() => {}); // held until the tab goes away
    }).catch(() => resolve(false));
  });
}

/**
 * Host side: calls `onGone` once the tab holding `name` dies. Returns false when locks cannot be
 * used here (the caller falls back to heartbeats).
 */
export function watchTabLock(name: string, onGone: () => void): boolean {
  const locks = globalThis.navigator?.locks;
  if (!locks) return false;
  locks.request(name, () => onGone()).catch(() => onGone());
  return true;
}

/** Host side: tracks heartbeats and reports tabs that went silent. */
export class HeartbeatWatch {
  readonly #lastSeen = new Map<string, { at: number; hidden: boolean }>();
  readonly #onGone: (tabId: string) => void;
  #timer?: ReturnType<typeof setInterval>;

  constructor(onGone: (tabId: string) => void) {
    this.#onGone = onGone;
  }

  /** Starts or refreshes watching `tabId`. */
  beat(tabId: string, hidden = false): void {
    this.#lastSeen.set(tabId, { at: Date.now(), hidden });
    this.#timer ??= setInterval(() => this.#sweep(), HEARTBEAT_MS);
  }

  /** Stops watching `tabId`. */
  forget(tabId: string): void {
    this.#lastSeen.delete(tabId);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lastSeen.clear();
  }

  #sweep(): void {
    const now = Date.now();
    for (const [tabId, seen] of [...this.#lastSeen]) {
      const limit = seen.hidden ? HIDDEN_HEARTBEAT_TIMEOUT_MS : HEARTBEAT_TIMEOUT_MS;
      if (now - seen.at > limit) {
        this.#lastSeen.delete(tabId);
        this.#onGone(tabId);
      }
    }
  }
}
