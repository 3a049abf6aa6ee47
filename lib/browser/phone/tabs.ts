/**
 * The tabs connected to the engine and the choice among them: which tab rings and which one
 * owns a call's media. A tab that may play sound comes first (a portal frame without
 * `autoplay` may not, see `sound_probe.ts`), then a visible one, then the most recently active.
 *
 * @module
 */
import type { Clock } from "./clock.ts";
import type { ClientMessage, HostMessage } from "./protocol.ts";

/** A connected tab as the host adapter sees it. */
export interface TabLink {
  readonly id: string;
  send(message: HostMessage): void;
}

/** The `hello` a tab sends once its liveness lock is held. */
export type TabHello = Extract<ClientMessage, { t: "hello" }>;

/** What the engine knows of one tab. */
export interface TabEntry {
  readonly link: TabLink;
  visible: boolean;
  /** Last time it became visible (or connected), for picking ringer and media tabs. */
  activeAt: number;
  /** It reports journal entries (`onJournal` subscribed). */
  journal: boolean;
  /** The page may play sound (it said so, or said nothing). */
  sound: boolean;
  /** It can get push stream tickets (`onPushTicket` subscribed). */
  push: boolean;
}

/** Options of {@link Tabs}. */
export interface TabsOptions {
  /** Time source for `activeAt`. */
  clock: Pick<Clock, "now">;
}

/** The connected tabs, in the order they first connected. */
export class Tabs {
  readonly #clock: Pick<Clock, "now">;
  readonly #tabs = new Map<string, TabEntry>();

  constructor(options: TabsOptions) {
    this.#clock = options.clock;
  }

  /** Adds a tab, or renews one that says hello again (keeping what it said about sound). */
  attach(link: TabLink, hello: TabHello): void {
    this.#tabs.set(link.id, {
      link,
      visible: hello.visible,
      activeAt: this.#clock.now(),
      journal: hello.journal,
      sound: this.#tabs.get(link.id)?.sound ?? true,
      push: hello.push ?? false,
    });
  }

  /** Removes a tab; returns false when it was not attached. */
  detach(tabId: string): boolean {
    return this.#tabs.delete(tabId);
  }

  /** The tab with this id, if attached. */
  get(tabId: string): TabEntry | undefined {
    return this.#tabs.get(tabId);
  }

  /** Number of attached tabs. */
  get size(): number {
    return this.#tabs.size;
  }

  /** Whether some attached tab may play sound. */
  get canPlaySound(): boolean {
    return [...this.#tabs.values()].some((t) => t.sound);
  }

  /** Sends to one tab (nothing when it is gone). */
  send(tabId: string, message: HostMessage): void {
    this.#tabs.get(tabId)?.link.send(message);
  }

  /** Sends to every tab. */
  broadcast(message: HostMessage): void {
    for (const tab of this.#tabs.values()) tab.link.send(message);
  }

  /** A tab became visible or hidden; becoming visible makes it the most recently active. */
  setVisible(tabId: string, visible: boolean): boolean {
    const tab = this.#tabs.get(tabId);
    if (!tab) return false;
    tab.visible = visible;
    if (visible) tab.activeAt = this.#clock.now();
    return true;
  }

  /** Records whether a tab may play sound; returns true when that changed. */
  setSound(tabId: string, allowed: boolean): boolean {
    const tab = this.#tabs.get(tabId);
    if (!tab || tab.sound === allowed) return false;
    tab.sound = allowed;
    return true;
  }

  /** Records whether a tab reports journal entries; returns false when it is gone. */
  setJournal(tabId: string, on: boolean): boolean {
    const tab = this.#tabs.get(tabId);
    if (!tab) return false;
    tab.journal = on;
    return true;
  }

  /** Records whether a tab can get push tickets; returns false when it is gone. */
  setPush(tabId: string, on: boolean): boolean {
    const tab = this.#tabs.get(tabId);
    if (!tab) return false;
    tab.push = on;
    return true;
  }

  /** The tab asked for push stream tickets: the subscribed one connected first. */
  pushProvider(): string | undefined {
    for (const [id, tab] of this.#tabs) if (tab.push) return id;
    return undefined;
  }

  /**
   * The best tab for media or ringing: one that may play sound first, then a visible one, then
   * the most recently active; ties go to the tab that connected first.
   */
  best(exclude?: string): string | undefined {
    const rank = (t: TabEntry) => [t.sound ? 1 : 0, t.visible ? 1 : 0, t.activeAt];
    let best: [string, TabEntry] | undefined;
    for (const entry of this.#tabs) {
      if (entry[0] === exclude) continue;
      if (!best) {
        best = entry;
        continue;
      }
      const [a, b] = [rank(entry[1]), rank(best[1])];
      const i = a.findIndex((v, k) => v !== b[k]);
      if (i >= 0 && a[i] > b[i]) best = entry;
    }
    return best?.[0];
  }

  /**
   * Where the media of a call placed or answered from `tabId` lives: that tab, unless it may not
   * play sound and another tab may (a hidden worker frame without `autoplay`), so the far party
   * is heard.
   */
  mediaTabFor(tabId: string): string {
    if (this.#tabs.get(tabId)?.sound !== false) return tabId;
    const other = this.best();
    return other && this.#tabs.get(other)?.sound ? other : tabId;
  }

  /**
   * The one tab that reports journal entries: the subscribed tab active longest ago, so that a
   * call's events stay together; undefined when no tab subscribed.
   */
  journalReporter(): string | undefined {
    const subscribers = [...this.#tabs.entries()].filter(([, t]) => t.journal);
    return subscribers.sort((a, b) => a[1].activeAt - b[1].activeAt)[0]?.[0];
  }
}
