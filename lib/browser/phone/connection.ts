/**
 * Page-side connections to the engine host. Both implement {@link HostConnection}, so the
 * client speaks one protocol whichever host runs the engine:
 *
 * - {@link WorkerConnection}: a SharedWorker's MessagePort.
 * - {@link TabHostConnection}: the fallback where a SharedWorker cannot start. One tab is
 *   elected host (a Web Lock, or, where locks are denied too, a BroadcastChannel election with
 *   heartbeats) and runs the engine in-page; the others reach it over a BroadcastChannel.
 *   Where even BroadcastChannel is refused (Firefox with every third-party cookie blocked, in
 *   a cross-site frame: SharedWorker, BroadcastChannel and Web Locks all throw SecurityError),
 *   the tab hosts an engine of its own and says so (`tabsShared: false` in its snapshots).
 *   When the host tab dies another one takes over and every tab says hello again (calls that
 *   lived in the dead host are lost; registration is restored by the clients).
 *
 * @module
 */
import { PhoneEngine, type TabHello } from "./engine.ts";
import { HEARTBEAT_MS, HeartbeatWatch, watchTabLock } from "./liveness.ts";
import type { PhoneNames } from "./names.ts";
import type { BusMessage, ClientMessage, HostMessage } from "./protocol.ts";

/** A page's link to the engine. */
export interface HostConnection {
  readonly kind: "worker" | "tab";
  /**
   * Starts talking: sends `hello()` now and again whenever the host changes or asks for it;
   * every message from the host goes to `onMessage`.
   */
  start(hello: () => TabHello, onMessage: (message: HostMessage) => void): void;
  send(message: ClientMessage): void;
  close(): void;
}

/** Connection through a SharedWorker's port. */
export class WorkerConnection implements HostConnection {
  readonly kind = "worker";
  readonly #worker: SharedWorker;
  #hello?: () => TabHello;
  #onMessage?: (message: HostMessage) => void;
  #closed = false;

  /** Throws synchronously where SharedWorker construction is refused. */
  constructor(url: string | URL, names: PhoneNames, onError: (reason: string) => void) {
    this.#worker = new SharedWorker(url, { name: names.worker });
    this.#worker.addEventListener("error", (e) => onError((e as ErrorEvent).message || "error"));
    this.#worker.port.onmessage = (m: MessageEvent<HostMessage>) => {
      if (this.#closed) return;
      if (m.data.t === "rehello") {
        if (this.#hello) this.send(this.#hello());
        return;
      }
      this.#onMessage?.(m.data);
    };
  }

  start(hello: () => TabHello, onMessage: (message: HostMessage) => void): void {
    this.#hello = hello;
    this.#onMessage = onMessage;
    this.#worker.port.start();
    this.send(hello());
  }

  send(message: ClientMessage): void {
    if (!this.#closed) this.#worker.port.postMessage(message);
  }

  close(): void {
    if (this.#closed) return;
    this.send({ t: "bye" });
    this.#closed = true;
    this.#worker.port.close();
  }
}

/** Options for {@link TabHostConnection}. */
export interface TabHostOptions {
  /** The channel and lock names. */
  names: PhoneNames;
  /** Whose phone (the hellos' `scope`); the engine this tab hosts refuses other scopes. */
  scope?: string;
  tabId: string;
  /** Whether Web Locks work in this context (the tab's own lock was granted). */
  locks: boolean;
}

const HOST_ALIVE_MS = 1000;
const HOST_SILENCE_MS = 3500;
const ELECTION_QUIET_MS = 400;
const CLAIM_WAIT_MS = 300;

/** The tabs' channel, or undefined where the browser refuses it (SecurityError). */
function openBus(name: string): BroadcastChannel | undefined {
  try {
    return new BroadcastChannel(name);
  } catch (error) {
    if ((error as DOMException)?.name === "SecurityError") return undefined;
    throw error;
  }
}

/** Connection to an engine hosted by one elected tab (possibly this one). */
export class TabHostConnection implements HostConnection {
  readonly kind = "tab";
  readonly #options: TabHostOptions;
  readonly #bus: Pick<BroadcastChannel, "postMessage" | "close" | "onmessage">;
  /** No channel to other tabs: this tab hosts an engine for itself alone. */
  readonly alone: boolean;
  readonly #since = Date.now();
  #hello?: () => TabHello;
  #onMessage?: (message: HostMessage) => void;
  #engine?: PhoneEngine;
  #epoch = 0;
  #hostTabId?: string;
  #hostEpoch = 0;
  #lastHostAlive = 0;
  #timers: ReturnType<typeof setInterval>[] = [];
  #heartbeats?: HeartbeatWatch;
  #claiming?: { since: number; beaten: boolean };
  #closed = false;

  constructor(options: TabHostOptions) {
    this.#options = options;
    const bus = openBus(options.names.bus);
    this.alone = bus === undefined;
    this.#bus = bus ?? { postMessage() {}, close() {}, onmessage: null };
    this.#bus.onmessage = (m: MessageEvent<BusMessage>) => this.#onBus(m.data);
  }

  /** True while this tab runs the engine. */
  get isHost(): boolean {
    return this.#engine !== undefined;
  }

  /** The engine, when this tab hosts it (for tests and diagnostics). */
  get engine(): PhoneEngine | undefined {
    return this.#engine;
  }

  start(hello: () => TabHello, onMessage: (message: HostMessage) => void): void {
    this.#hello = hello;
    this.#onMessage = onMessage;
    if (this.#options.locks) {
      navigator.locks.request(this.#options.names.hostLock, () => {
        if (this.#closed) return;
        this.#becomeHost();
        return new Promise<void>(() => {}); // host for the rest of this tab's life
      }).catch(() => this.#startElectionLoop());
    } else {
      this.#startElectionLoop();
    }
    this.#post({ k: "host-query", from: this.#options.tabId });
    if (!this.#options.locks) {
      this.#timers.push(setInterval(() => {
        if (this.#hostTabId && !this.isHost) {
          this.send({ t: "heartbeat", hidden: document.visibilityState === "hidden" });
        }
      }, HEARTBEAT_MS));
    }
  }

  send(message: ClientMessage): void {
    if (this.#closed) return;
    const from = this.#options.tabId;
    if (this.#engine) {
      const engine = this.#engine;
      queueMicrotask(() => this.#toEngine(engine, from, message, (m) => this.#deliver(m)));
      return;
    }
    if (!this.#hostTabId) return; // the hello is re-sent once a host is known
    this.#post({ k: "to-host", from, msg: message });
  }

  close(): void {
    if (this.#closed) return;
    this.send({ t: "bye" });
    this.#closed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#heartbeats?.stop();
    this.#engine?.shutdown().catch(() => {});
    this.#bus.close();
  }

  #deliver(message: HostMessage): void {
    if (this.#closed) return;
    if (message.t === "rehello") {
      if (this.#hello) this.send(this.#hello());
      return;
    }
    this.#onMessage?.(message);
  }

  #post(message: BusMessage): void {
    if (!this.#closed) this.#bus.postMessage(message);
  }

  #onBus(message: BusMessage): void {
    if (this.#closed) return;
    const me = this.#options.tabId;
    switch (message.k) {
      case "to-tab":
        if (message.to === me) this.#deliver(message.msg);
        return;
      case "to-host":
        if (this.#engine) {
          this.#toEngine(
            this.#engine,
            message.from,
            message.msg,
            (m) => this.#post({ k: "to-tab", to: message.from, msg: m }),
          );
        }
        return;
      case "host-query":
        if (this.#engine) this.#announce();
        return;
      case "host-claim":
        if (this.#engine) this.#announce();
        else if (this.#claiming && this.#beats(message.since, message.from)) {
          this.#claiming.beaten = true;
        }
        return;
      case "host-alive":
        if (message.hostTabId === me) return;
        if (this.#engine) {
          // Two hosts (a race without locks): the older one stays.
          if (this.#beats(message.epoch, message.hostTabId, this.#epoch)) this.#stepDown();
          else return;
        }
        if (this.#claiming) this.#claiming.beaten = true;
        this.#lastHostAlive = Date.now();
        if (message.hostTabId !== this.#hostTabId || message.epoch !== this.#hostEpoch) {
          this.#hostTabId = message.hostTabId;
          this.#hostEpoch = message.epoch;
          if (this.#hello) this.send(this.#hello());
        }
        return;
      case "tab-gone":
        this.#engine?.detachTab(message.tabId, "pagehide");
        return;
    }
  }

  /** Does (`since`, `id`) win an election against this tab (or `mine`)? Older wins; ties by id. */
  #beats(since: number, id: string, mine = this.#since): boolean {
    return since < mine || (since === mine && id < this.#options.tabId);
  }

  #toEngine(
    engine: PhoneEngine,
    from: string,
    message: ClientMessage,
    reply: (m: HostMessage) => void,
  ): void {
    if (message.t === "hello") {
      if (!engine.attachTab({ id: from, send: reply }, message)) return;
      if (from === this.#options.tabId) return;
      const locked = message.lockName &&
        watchTabLock(message.lockName, () => engine.detachTab(from, "lock released"));
      if (!locked) this.#heartbeats?.beat(from);
      return;
    }
    if (!engine.hasTab(from)) {
      if (message.t !== "bye") reply({ t: "rehello" });
      return;
    }
    if (message.t === "heartbeat") this.#heartbeats?.beat(from, message.hidden);
    if (message.t === "bye") this.#heartbeats?.forget(from);
    engine.handle(from, message);
  }

  #becomeHost(): void {
    if (this.#engine || this.#closed) return;
    this.#claiming = undefined;
    this.#epoch = this.#since;
    const engine = new PhoneEngine({
      host: "tab",
      scope: this.#options.scope ?? "",
      alone: this.alone,
    });
    this.#engine = engine;
    this.#heartbeats = new HeartbeatWatch((tabId) => engine.detachTab(tabId, "heartbeat lost"));
    this.#hostTabId = this.#options.tabId;
    this.#hostEpoch = this.#epoch;
    this.#announce();
    this.#timers.push(setInterval(() => this.#engine && this.#announce(), HOST_ALIVE_MS));
    if (this.#hello) this.send(this.#hello());
  }

  #stepDown(): void {
    const engine = this.#engine;
    this.#engine = undefined;
    this.#heartbeats?.stop();
    this.#heartbeats = undefined;
    engine?.shutdown().catch(() => {});
  }

  #announce(): void {
    this.#post({ k: "host-alive", hostTabId: this.#options.tabId, epoch: this.#epoch });
  }

  /** Election over the channel for contexts without Web Locks. */
  #startElectionLoop(): void {
    const check = () => {
      if (this.#engine || this.#claiming || this.#closed) return;
      if (Date.now() - this.#lastHostAlive < HOST_SILENCE_MS && this.#hostTabId) return;
      this.#hostTabId = undefined;
      this.#claiming = { since: this.#since, beaten: false };
      this.#post({ k: "host-claim", from: this.#options.tabId, epoch: 0, since: this.#since });
      setTimeout(() => {
        const claim = this.#claiming;
        this.#claiming = undefined;
        if (claim && !claim.beaten && !this.#hostTabId) this.#becomeHost();
      }, CLAIM_WAIT_MS);
    };
    setTimeout(check, ELECTION_QUIET_MS);
    this.#timers.push(setInterval(check, HOST_ALIVE_MS));
  }
}
