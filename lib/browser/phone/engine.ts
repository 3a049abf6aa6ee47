/**
 * The phone engine: one SIP.js UserAgent, Registerer and every call, shared by all tabs of an
 * origin. It runs in a SharedWorker or, where that is refused, in one elected tab; the host
 * adapter ({@link "./worker_host.ts"}, {@link "./connection.ts"}) feeds it tab connections and
 * messages and tells it when a tab dies. The engine never touches media: SDP work goes to the
 * tab that owns the call through `ProxySessionDescriptionHandler` (`proxy_sdh.ts`).
 *
 * This class is the façade: it speaks the message protocol and hands each concern to its
 * module, wired here through their options:
 *
 * | module               | concern                                                         |
 * | -------------------- | --------------------------------------------------------------- |
 * | `tabs.ts`            | connected tabs; the best tab for ringing and media              |
 * | `ringer.ts`          | which tab rings                                                 |
 * | `sip_connection.ts`  | UserAgent, registration, connection and reconnect backoff       |
 * | `calls.ts`           | calls, hold, mute, DTMF, ICE restarts                           |
 * | `transfer.ts`        | blind and attended transfer, following a REFER                  |
 * | `media_routing.ts`   | which tab owns a call's media; moving it when that tab dies     |
 * | `journal_outbox.ts`  | journal entries to one reporting page, acknowledged, retried    |
 *
 * @module
 */
import { Calls } from "./calls.ts";
import { type Clock, realClock } from "./clock.ts";
import { newId } from "./ids.ts";
import { journalEntry, JournalOutbox } from "./journal_outbox.ts";
import { MediaRouter } from "./media_routing.ts";
import type { ClientMessage, Command, HostMessage } from "./protocol.ts";
import { PushChannel, type StreamFactory } from "./push_channel.ts";
import { Ringer } from "./ringer.ts";
import {
  type RegistererFactory,
  SipConnection,
  sipRegisterer,
  sipUserAgent,
  type UserAgentFactory,
} from "./sip_connection.ts";
import { type TabHello, type TabLink, Tabs } from "./tabs.ts";
import { Transfer } from "./transfer.ts";
import {
  type CallInfo,
  type DeviceSettings,
  type DtmfMode,
  type Log,
  type PhoneAccount,
  PhoneError,
  type PhoneSnapshot,
  type RegisterOptions,
} from "./types.ts";

export type { TabHello, TabLink } from "./tabs.ts";

/** Engine construction options. */
export interface PhoneEngineOptions {
  /** Which host runs this engine (reported in snapshots). */
  host: "worker" | "tab";
  /** This engine serves only its own tab (no channel to other tabs). @defaultValue false */
  alone?: boolean;
  /** Diagnostic log sink. @defaultValue console */
  log?: Log;
  /** Time and timers. @defaultValue {@link realClock} */
  clock?: Clock;
  /** Jitter for backoffs and glare retries, in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** Builds each account's UserAgent. @defaultValue SIP.js's `new UserAgent(options)` */
  userAgentFactory?: UserAgentFactory;
  /** Builds each UserAgent's Registerer. @defaultValue SIP.js's `new Registerer(ua, options)` */
  registererFactory?: RegistererFactory;
  /**
   * Whose phone this is (the pages' `scope`, see `names.ts`): pages of another scope are
   * refused. @defaultValue the scope of the first page that says hello
   */
  scope?: string;
  /** Opens the app's push stream. @defaultValue `url => new EventSource(url)` */
  openPushStream?: StreamFactory;
}

/** The shared phone engine. */
export class PhoneEngine {
  readonly #hostKind: "worker" | "tab";
  readonly #alone: boolean;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #tabs: Tabs;
  readonly #ringer: Ringer;
  readonly #outbox: JournalOutbox;
  readonly #sip: SipConnection;
  readonly #media: MediaRouter;
  readonly #calls: Calls;
  readonly #transfer: Transfer;
  readonly #push: PushChannel;
  readonly #engineId: string;
  #scope?: string;
  #devices: DeviceSettings = {};
  #snapshotQueued = false;

  constructor(options: PhoneEngineOptions) {
    this.#hostKind = options.host;
    this.#alone = options.alone ?? false;
    this.#scope = options.scope;
    const clock = this.#clock = options.clock ?? realClock;
    const random = options.random ?? Math.random;
    this.#engineId = newId("engine", clock.now());
    // deno-lint-ignore no-console
    const sink = options.log ?? ((level, message, data) => console[level](message, data ?? ""));
    const log: Log = this.#log = (level, message, data) => {
      sink(level, message, data);
      if (level === "debug") return;
      const detail = data === undefined
        ? ""
        : ` ${typeof data === "string" ? data : JSON.stringify(data)}`;
      this.#tabs.broadcast({ t: "log", level, message: `${message}${detail}` });
    };
    const onChange = () => this.#changed();
    const tabs = this.#tabs = new Tabs({ clock });
    this.#ringer = new Ringer({ tabs });
    this.#outbox = new JournalOutbox({ clock, tabs });
    this.#media = new MediaRouter({
      clock,
      log,
      tabs,
      calls: () => this.#calls,
      settings: () => ({
        iceServers: this.#sip.account?.iceServers ?? [],
        iceGatheringTimeoutMs: this.#sip.options.iceGatheringTimeoutMs,
        mediaTimeoutMs: this.#sip.options.mediaTimeoutMs,
        devices: this.#devices,
      }),
      onChange: () => this.#queueSnapshot(),
    });
    this.#sip = new SipConnection({
      clock,
      random,
      log,
      createUserAgent: options.userAgentFactory ?? sipUserAgent,
      createRegisterer: options.registererFactory ?? sipRegisterer,
      sessionDescriptionHandlerFactory: (session) => this.#media.createHandler(session),
      delegate: {
        onInvite: (invitation) => this.#calls.onInvite(invitation),
        onReconnected: () => this.#calls.checkIceAfterReconnect(),
        onChange: () => this.#queueSnapshot(),
        endCalls: () => this.#calls.endAll(),
      },
    });
    this.#calls = new Calls({
      clock,
      random,
      log,
      sip: this.#sip,
      tabs,
      media: this.#media,
      journal: (info, phase) => {
        const now = clock.now();
        this.#outbox.add(journalEntry(info, phase, newId("j", now), now));
      },
      onRefer: (rec, referral) => this.#transfer.onRefer(rec, referral),
      onChange,
    });
    this.#transfer = new Transfer({ log, calls: this.#calls, tabs });
    this.#push = new PushChannel({
      clock,
      random,
      log,
      tabs,
      openStream: options.openPushStream,
      onChange: () => this.#queueSnapshot(),
    });
  }

  // ---------------------------------------------------------------- tabs

  /**
   * A tab connected (its hello arrived after its liveness lock was granted). A tab of another
   * scope than this engine's is told it is refused and not attached: false.
   */
  attachTab(link: TabLink, hello: TabHello): boolean {
    const scope = hello.scope ?? "";
    this.#scope ??= scope;
    if (scope !== this.#scope) {
      this.#log("warn", "a page of another scope was refused");
      link.send({ t: "refused", reason: "this phone engine serves another portal or user" });
      return false;
    }
    this.#tabs.attach(link, hello);
    this.#log("debug", `tab ${link.id} attached (${this.#tabs.size} tabs)`);
    link.send({ t: "welcome", snapshot: this.snapshot() });
    this.#updateRinger();
    if (hello.journal) this.#outbox.flush();
    this.#push.seen(hello.pushLastEventId);
    this.#push.update();
    return true;
  }

  /** A tab went away (lock released, pagehide, heartbeat lost). Moves its calls' media. */
  detachTab(tabId: string, reason: string): void {
    if (!this.#tabs.detach(tabId)) return;
    this.#log("info", `tab ${tabId} gone (${reason}); ${this.#tabs.size} left`);
    this.#media.tabGone(tabId);
    this.#ringer.forget(tabId);
    this.#outbox.release(tabId);
    for (const rec of this.#calls.records) {
      if (rec.info.mediaTabId === tabId) this.#media.mediaTabLost(rec);
    }
    this.#updateRinger();
    this.#outbox.flush();
    this.#push.update();
    if (this.#tabs.size === 0 && this.#sip.account) {
      // The last page is leaving and the worker dies with it: take the contact off the
      // registrar now rather than leave a dead one until it expires.
      this.#log("info", "no tab left: unregistering");
      this.unregister().catch(() => {});
    }
  }

  /** True while `tabId` is attached. */
  hasTab(tabId: string): boolean {
    return this.#tabs.get(tabId) !== undefined;
  }

  /** Number of connected tabs. */
  get tabCount(): number {
    return this.#tabs.size;
  }

  /** A message from a connected tab (nothing of a tab that is not attached is run). */
  handle(tabId: string, message: ClientMessage): void {
    if (!this.hasTab(tabId)) return;
    switch (message.t) {
      case "cmd":
        this.#runCommand(tabId, message.id, message.command);
        return;
      case "media-result":
        this.#media.settle(message);
        return;
      case "sound":
        if (this.#tabs.setSound(tabId, message.allowed)) {
          this.#updateRinger();
          this.#queueSnapshot();
        }
        return;
      case "visible":
        if (this.#tabs.setVisible(tabId, message.visible)) this.#updateRinger();
        return;
      case "journal-sub":
        if (this.#tabs.setJournal(tabId, message.on)) {
          if (!message.on) this.#outbox.release(tabId);
          this.#outbox.flush();
        }
        return;
      case "journal-ack":
        this.#outbox.ack(message.entryId, message.ok);
        return;
      case "push-sub":
        if (this.#tabs.setPush(tabId, message.on)) this.#push.update();
        return;
      case "push-ticket-result":
        this.#push.ticketResult(message.id, message.ok, message.url, message.error);
        return;
      case "bye":
        this.detachTab(tabId, "pagehide");
        return;
      case "ice":
        this.#calls.iceStateChanged(message.callId, message.sdhId, message.state);
        return;
      case "hello":
      case "heartbeat":
        return;
    }
  }

  // ---------------------------------------------------------------- snapshot

  /** The current observable state. */
  snapshot(): PhoneSnapshot {
    return {
      host: this.#hostKind,
      engineId: this.#engineId,
      registration: this.#sip.registration,
      connection: this.#sip.connection,
      calls: this.#calls.records.map((r) => ({ ...r.info })),
      devices: { ...this.#devices },
      canPlaySound: this.#tabs.canPlaySound,
      tabsShared: !this.#alone,
      push: { state: this.#push.state, lastEventId: this.#push.lastEventId },
    };
  }

  #queueSnapshot(): void {
    if (this.#snapshotQueued) return;
    this.#snapshotQueued = true;
    queueMicrotask(() => {
      this.#snapshotQueued = false;
      this.#tabs.broadcast({ t: "snapshot", snapshot: this.snapshot() });
    });
  }

  /** Calls changed: the ringer may move and a snapshot is due. */
  #changed(): void {
    this.#updateRinger();
    this.#queueSnapshot();
  }

  #updateRinger(): void {
    this.#ringer.update(this.#calls.ringing, this.#calls.anyLive);
  }

  // ---------------------------------------------------------------- commands

  async #runCommand(tabId: string, id: number, command: Command): Promise<void> {
    const reply = (message: HostMessage) => this.#tabs.send(tabId, message);
    try {
      const value = await this.execute(tabId, command);
      reply({ t: "result", id, ok: true, value });
    } catch (error) {
      const e = error instanceof PhoneError
        ? error
        : new PhoneError("internal", (error as Error)?.message ?? String(error));
      if (!(error instanceof PhoneError)) this.#log("error", `command ${command.op} failed`, error);
      reply({
        t: "result",
        id,
        ok: false,
        error: { code: e.code, message: e.message, sipStatus: e.sipStatus },
      });
    }
  }

  /** Runs one command on behalf of `tabId` (exposed for the in-process fallback host). */
  execute(tabId: string, command: Command): Promise<unknown> {
    switch (command.op) {
      case "register":
        return this.register(command.account, command.options);
      case "unregister":
        return this.unregister();
      case "call":
        return this.call(command.number, tabId, command.bitrixCallId);
      case "answer":
        return this.answer(command.callId, tabId, command.holdOthers ?? true);
      case "reject":
        return this.reject(command.callId, command.code ?? 486);
      case "hangup":
        return this.hangup(command.callId);
      case "mute":
        return this.mute(command.callId, command.on);
      case "hold":
        return this.hold(command.callId, command.on);
      case "dtmf":
        return this.dtmf(command.callId, command.tones, command.mode ?? "auto");
      case "transfer":
        return this.transfer(command.callId, command.target);
      case "attendedTransfer":
        return this.attendedTransfer(command.callId, command.toCallId);
      case "setDevices":
        return Promise.resolve(this.setDevices(command.devices));
      case "snapshot":
        return Promise.resolve(this.snapshot());
    }
  }

  // ---------------------------------------------------------------- registration

  /**
   * Registers `account` (or keeps the current registration when the same account is already
   * registered). Resolves when registered; rejects with a {@link PhoneError} when it fails.
   */
  async register(account: PhoneAccount, options: RegisterOptions = {}): Promise<PhoneSnapshot> {
    await this.#sip.register(account, options);
    return this.snapshot();
  }

  /** Unregisters, hangs up every call and stops the UserAgent. */
  async unregister(): Promise<PhoneSnapshot> {
    await this.#sip.unregister();
    return this.snapshot();
  }

  /** Stops everything (the host is going away). */
  async shutdown(): Promise<void> {
    this.#push.close();
    await this.#sip.teardown();
  }

  // ---------------------------------------------------------------- calls

  /**
   * Places a call from `tabId` (which will own its media). Resolves once the INVITE is sent.
   * `bitrixCallId` (a click-to-call's card) goes into the call's info and its journal start.
   */
  call(number: string, tabId: string, bitrixCallId?: string): Promise<CallInfo> {
    return this.#calls.call(number, tabId, bitrixCallId);
  }

  /** Answers an incoming call; `tabId` owns its media. Other live calls are held first. */
  answer(callId: string, tabId: string, holdOthers: boolean): Promise<CallInfo> {
    return this.#calls.answer(callId, tabId, holdOthers);
  }

  /** Rejects an incoming call with `code` (486 Busy Here, 603 Decline, ...). */
  reject(callId: string, code: number): Promise<CallInfo> {
    return this.#calls.reject(callId, code);
  }

  /** Ends a call in whatever state it is: CANCEL, decline or BYE. */
  hangup(callId: string): Promise<CallInfo> {
    return this.#calls.hangup(callId);
  }

  /** Mutes or unmutes the microphone of a call (in its media tab). */
  mute(callId: string, on: boolean): Promise<CallInfo> {
    return this.#calls.mute(callId, on);
  }

  /** Holds or resumes a call by re-INVITE (sendonly / sendrecv). */
  hold(callId: string, on: boolean): Promise<CallInfo> {
    return this.#calls.hold(callId, on);
  }

  /**
   * Sends DTMF. `auto`: RFC 4733 through the media tab's RTCDTMFSender when the far end
   * negotiated telephone-event, else SIP INFO (application/dtmf-relay), one request per tone.
   */
  dtmf(callId: string, tones: string, mode: DtmfMode): Promise<{ via: "rfc4733" | "info" }> {
    return this.#calls.dtmf(callId, tones, mode);
  }

  /** Blind transfer: REFER the far party to `target`; we hang up once it reports success. */
  transfer(callId: string, target: string): Promise<CallInfo> {
    return this.#transfer.blind(callId, target);
  }

  /** Attended transfer: REFER the far party of `callId` to the party of `toCallId` (Replaces). */
  attendedTransfer(callId: string, toCallId: string): Promise<CallInfo> {
    return this.#transfer.attended(callId, toCallId);
  }

  /** Shared audio device settings; the media tab applies them. */
  setDevices(devices: DeviceSettings): PhoneSnapshot {
    this.#devices = { ...this.#devices, ...devices };
    for (const key of Object.keys(this.#devices) as (keyof DeviceSettings)[]) {
      if (this.#devices[key] === undefined || this.#devices[key] === "") delete this.#devices[key];
    }
    this.#queueSnapshot();
    return this.snapshot();
  }
}
