/**
 * Ringing one tab: while a call is incoming, the best tab ({@link Tabs.best}) plays the
 * ringtone (as call waiting when another call is live) and every other tab is silent. The ringer
 * moves when a better tab appears or the ringing one goes away.
 *
 * @module
 */
import type { Tabs } from "./tabs.ts";

/** Options of {@link Ringer}. */
export interface RingerOptions {
  /** The tabs to choose from and to tell. */
  tabs: Pick<Tabs, "best" | "send">;
}

/** Which tab rings, and telling tabs to start and stop. */
export class Ringer {
  readonly #tabs: RingerOptions["tabs"];
  #ringerTabId?: string;
  #waiting = false;

  constructor(options: RingerOptions) {
    this.#tabs = options.tabs;
  }

  /** The tab ringing now, if any. */
  get tabId(): string | undefined {
    return this.#ringerTabId;
  }

  /**
   * Re-chooses after any change of calls or tabs: `ringing` when a call is incoming, `waiting`
   * when some call is live (the ringtone is the call-waiting tone then). Tells only what changed.
   */
  update(ringing: boolean, waiting: boolean): void {
    const want = ringing ? this.#tabs.best() : undefined;
    if (want === this.#ringerTabId && waiting === this.#waiting) return;
    if (this.#ringerTabId && this.#ringerTabId !== want) {
      this.#tabs.send(this.#ringerTabId, { t: "ring", on: false });
    }
    this.#ringerTabId = want;
    this.#waiting = waiting;
    if (want) this.#tabs.send(want, { t: "ring", on: true, waiting });
  }

  /** The ringing tab went away (it stops by itself); the next {@link update} picks another. */
  forget(tabId: string): void {
    if (this.#ringerTabId === tabId) this.#ringerTabId = undefined;
  }
}
