/**
 * The page-side phone API. `connectPhone()` joins the shared engine (a SharedWorker, or the
 * elected-tab fallback) and returns a {@link PhoneClient}: observable state, call commands,
 * the media this tab owns, the ringtone when this tab is picked to ring, and journal events.
 *
 * No UI framework here: a Preact island mirrors `stateChange` into signals; the Bitrix24
 * background page maps calls and journal events onto Bitrix24's call card and REST.
 *
 * @example
 * ```ts
 * const phone = await connectPhone();
 * phone.stateChange.addListener((s) => render(s));
 * phone.onJournal((e) => fetch("/api/calls", { method: "POST", body: JSON.stringify(e) }));
 * await phone.register({ wsUrl, sipUri, authUser, password });
 * const call = await phone.call("101");
 * ```
 *
 * @module
 */
import { CallState } from "./call_state.ts";
import { type HostConnection, TabHostConnection, WorkerConnection } from "./connection.ts";
import type { TabHello } from "./engine.ts";
import { type Emitter, EmitterImpl } from "./emitter.ts";
import { holdTabLock } from "./liveness.ts";
import { phoneNames } from "./names.ts";
import { TabMedia } from "./media.ts";
import type { Command, HostMessage } from "./protocol.ts";
import type { PushEvent } from "../../shared/api/push.ts";
import { RegistrationState } from "./registration_state.ts";
import { Ringtone } from "./ringtone.ts";
import { soundAllowed } from "./sound_probe.ts";
import {
  type CallInfo,
  type DeviceSettings,
  type DtmfMode,
  type DtmfReceived,
  type JournalEntry,
  type MediaStats,
  type PhoneAccount,
  PhoneError,
  type PhoneErrorCode,
  type PhoneSnapshot,
  type RegisterOptions,
} from "./types.ts";

export { CallState } from "./call_state.ts";
export { RegistrationState } from "./registration_state.ts";
export type {
  CallDirection,
  CallEndReason,
  CallInfo,
  DeviceSettings,
  DtmfMode,
  DtmfReceived,
  JournalEntry,
  MediaStats,
  PhoneAccount,
  PhoneErrorCode,
  PhoneSnapshot,
  RegisterOptions,
} from "./types.ts";
export { PhoneError } from "./types.ts";

/** Options for {@link connectPhone}. */
export interface ConnectPhoneOptions {
  /**
   * URL of the SharedWorker bundle.
   * @defaultValue `sip_worker.js` next to this module's bundle
   */
  workerUrl?: string | URL;
  /** Which host to use: the worker with fallback (`auto`), only the worker, or only a tab. */
  host?: "auto" | "worker" | "tab";
  /** Namespace for the worker, channel and lock names (one phone per name). @defaultValue "phone" */
  name?: string;
  /**
   * Whose phone this is: an opaque key (`scopeKey()` of the portal and user) that goes into the
   * worker, channel and lock names and into the hello; an engine of another scope refuses the
   * page (`connectPhone` rejects with `host-unavailable`). @defaultValue none
   */
  scope?: string;
  /** How long to wait for the SharedWorker before falling back, ms. @defaultValue 4000 */
  workerTimeoutMs?: number;
  /** Play the ringtone when this tab is picked to ring. @defaultValue true */
  ringtone?: boolean;
  /** Where hidden `<audio>` elements for call audio go. @defaultValue document.body */
  audioContainer?: HTMLElement;
  /** How long a command may wait for the engine's answer, ms. @defaultValue 30000 */
  commandTimeoutMs?: number;
}

/** Available audio devices (labels are empty until microphone permission was granted). */
export interface AudioDevices {
  microphones: MediaDeviceInfo[];
  speakers: MediaDeviceInfo[];
  /** False where the browser cannot route audio to a chosen output (`setSinkId`). */
  canSelectSpeaker: boolean;
}

/** One engine diagnostic line. */
export interface EngineLog {
  level: "info" | "warn" | "error";
  message: string;
}

/** The phone as one page sees it. */
export interface PhoneClient {
  /** This tab's id in the engine. */
  readonly tabId: string;
  /** Which host runs the engine. */
  readonly host: "worker" | "tab";
  /** The latest snapshot. */
  readonly state: PhoneSnapshot;
  /** Emits every new snapshot. */
  readonly stateChange: Emitter<PhoneSnapshot>;
  /** Calls of the latest snapshot (ended ones stay a few seconds). */
  readonly calls: CallInfo[];
  /** DTMF received from far ends (SIP INFO). */
  readonly dtmfReceived: Emitter<DtmfReceived>;
  /** Engine diagnostics (info, warn, error). */
  readonly log: Emitter<EngineLog>;
  /** True while this tab plays the ringtone (the engine picks one tab to ring). */
  readonly ringing: boolean;
  /** Registers the account (resolves when registered, throws {@link PhoneError} when it fails). */
  register(account: PhoneAccount, options?: RegisterOptions): Promise<PhoneSnapshot>;
  unregister(): Promise<PhoneSnapshot>;
  /**
   * Places a call; this tab owns its media. Resolves when the INVITE is on its way.
   * `bitrixCallId` links it to the Bitrix24 call card it was dialled for.
   */
  call(number: string, options?: { bitrixCallId?: string }): Promise<CallInfo>;
  /** Answers an incoming call in this tab; other live calls are put on hold unless told not to. */
  answer(callId: string, options?: { holdOthers?: boolean }): Promise<CallInfo>;
  /** Rejects an incoming call: 486 Busy Here (default) or 603 Decline. */
  reject(callId: string, code?: 486 | 603 | number): Promise<CallInfo>;
  hangup(callId: string): Promise<CallInfo>;
  mute(callId: string, on?: boolean): Promise<CallInfo>;
  hold(callId: string, on?: boolean): Promise<CallInfo>;
  /** Sends DTMF; resolves with the method used. */
  dtmf(callId: string, tones: string, mode?: DtmfMode): Promise<{ via: "rfc4733" | "info" }>;
  /** Blind transfer of the far party to `target` (REFER). */
  transfer(callId: string, target: string): Promise<CallInfo>;
  /** Attended transfer: joins the far parties of `callId` and `toCallId` (REFER with Replaces). */
  attendedTransfer(callId: string, toCallId: string): Promise<CallInfo>;
  /** Device and ringtone settings shared by all tabs. */
  setDevices(devices: DeviceSettings): Promise<PhoneSnapshot>;
  listDevices(): Promise<AudioDevices>;
  /**
   * Journal events. Subscribing makes this page a reporter: each event goes to one reporting
   * page and counts as delivered when the callback's promise resolves (a rejection re-queues it).
   */
  onJournal(callback: (entry: JournalEntry) => void | Promise<void>): () => void;
  /**
   * Makes this page a source of push stream tickets: the engine's host holds one stream of the
   * app's push channel for every tab and asks such a page for a stream URL with a fresh ticket
   * (`POST /api/push/ticket`) whenever it (re)connects. Returns the unsubscribe.
   */
  onPushTicket(provider: () => Promise<string>): () => void;
  /** Messages of the app's push stream (every tab gets each once, in order). */
  readonly push: Emitter<PushEvent>;
  /** Audio statistics of a call whose media this tab owns, else null. */
  mediaStats(callId: string): Promise<MediaStats | null>;
  /** Resolves with the first snapshot that satisfies `predicate`. */
  waitFor(predicate: (s: PhoneSnapshot) => boolean, timeoutMs?: number): Promise<PhoneSnapshot>;
  /** Leaves the engine (this tab's calls move to another tab). */
  close(): void;
}

function newTabId(): string {
  const random = crypto.getRandomValues(new Uint8Array(6));
  return `tab-${Date.now().toString(36)}-${[...random].map((b) => b.toString(36)).join("")}`;
}

const EMPTY: PhoneSnapshot = {
  host: "worker",
  engineId: "",
  registration: { state: RegistrationState.Unregistered },
  connection: "disconnected",
  calls: [],
  devices: {},
  canPlaySound: true,
  tabsShared: true,
};

/**
 * Joins the phone engine of this origin and scope (starting it if this is the first tab).
 * Rejects with `host-unavailable` when no host starts, or when the engine under these names
 * serves another scope.
 */
export async function connectPhone(options: ConnectPhoneOptions = {}): Promise<PhoneClient> {
  const names = phoneNames(options.name ?? "phone", options.scope);
  const tabId = newTabId();
  const lockName = names.tabLock(tabId);
  const locks = await holdTabLock(lockName);
  const mode = options.host ?? "auto";

  const client = new Client(tabId, locks ? lockName : undefined, options);
  if (mode !== "tab" && typeof SharedWorker === "function") {
    try {
      const url = options.workerUrl ?? new URL("./sip_worker.js", import.meta.url);
      await client.attach(
        (onError) => new WorkerConnection(url, names, onError),
        options.workerTimeoutMs ?? 4000,
      );
      return client;
    } catch (error) {
      if (error instanceof PhoneError) throw error; // refused: another scope's engine
      if (mode === "worker") {
        throw new PhoneError(
          "host-unavailable",
          `SharedWorker unavailable: ${(error as Error).message}`,
        );
      }
    }
  } else if (mode === "worker") {
    throw new PhoneError("host-unavailable", "SharedWorker is not supported here");
  }
  await client.attach(
    () => new TabHostConnection({ names, scope: options.scope, tabId, locks }),
    15_000,
  );
  return client;
}

interface PendingCommand {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

class Client implements PhoneClient {
  readonly tabId: string;
  readonly #lockName?: string;
  readonly #scope?: string;
  readonly #stateChange = new EmitterImpl<PhoneSnapshot>();
  readonly #dtmf = new EmitterImpl<DtmfReceived>();
  readonly #push = new EmitterImpl<PushEvent>();
  #pushProvider?: () => Promise<string>;
  #pushLastEventId?: number;
  readonly #logs = new EmitterImpl<EngineLog>();
  readonly #journal = new EmitterImpl<JournalEntry>();
  readonly #journalCallbacks = new Set<(e: JournalEntry) => void | Promise<void>>();
  readonly #pending = new Map<number, PendingCommand>();
  readonly #commandTimeoutMs: number;
  readonly #media: TabMedia;
  readonly #ringtone?: Ringtone;
  #soundAllowed?: boolean;
  #soundToldRefused = false;
  #connection?: HostConnection;
  #snapshot: PhoneSnapshot = EMPTY;
  #seq = 0;
  #lastRegister?: { account: PhoneAccount; options?: RegisterOptions };
  #wantRegistered = false;
  #closed = false;
  #ringing?: { waiting: boolean };
  #cleanup: (() => void)[] = [];

  constructor(tabId: string, lockName: string | undefined, options: ConnectPhoneOptions) {
    this.tabId = tabId;
    this.#lockName = lockName;
    this.#scope = options.scope;
    this.#media = new TabMedia({
      container: options.audioContainer,
      onIceState: (callId, sdhId, state) =>
        this.#connection?.send({ t: "ice", callId, sdhId, state }),
    });
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
    if (options.ringtone !== false) this.#ringtone = new Ringtone();
  }

  /**
   * Connects through `make()`, waiting for the host's welcome. Rejects with an `Error` when the
   * host does not start, with a {@link PhoneError} when it refuses this page.
   */
  attach(
    make: (onError: (reason: string) => void) => HostConnection,
    timeoutMs: number,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let connection: HostConnection | undefined;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connection?.close();
        reject(error);
      };
      const failWith = (reason: string) => fail(new Error(reason));
      const timer = setTimeout(() => failWith("timed out waiting for the engine"), timeoutMs);
      try {
        connection = make(failWith);
      } catch (error) {
        failWith((error as Error).message);
        return;
      }
      const conn = connection;
      conn.start(() => this.#hello(), (message) => {
        if (!settled && message.t === "refused") {
          fail(new PhoneError("host-unavailable", message.reason));
          return;
        }
        if (!settled && message.t === "welcome") {
          settled = true;
          clearTimeout(timer);
          this.#connection = conn;
          this.#installPageHooks();
          this.#checkSound();
          resolve();
        }
        if (this.#connection === conn) this.#onMessage(message);
      });
    });
  }

  get host(): "worker" | "tab" {
    return this.#connection?.kind ?? "worker";
  }

  get state(): PhoneSnapshot {
    return this.#snapshot;
  }

  get stateChange(): Emitter<PhoneSnapshot> {
    return this.#stateChange;
  }

  get calls(): CallInfo[] {
    return this.#snapshot.calls;
  }

  get dtmfReceived(): Emitter<DtmfReceived> {
    return this.#dtmf;
  }

  get log(): Emitter<EngineLog> {
    return this.#logs;
  }

  get push(): Emitter<PushEvent> {
    return this.#push;
  }

  get ringing(): boolean {
    return this.#ringing !== undefined;
  }

  #hello(): TabHello {
    return {
      t: "hello",
      tabId: this.tabId,
      lockName: this.#lockName,
      visible: globalThis.document?.visibilityState !== "hidden",
      journal: this.#journalCallbacks.size > 0,
      scope: this.#scope,
      push: this.#pushProvider !== undefined,
      pushLastEventId: this.#pushLastEventId,
    };
  }

  #installPageHooks(): void {
    const onVisibility = () =>
      this.#connection?.send({ t: "visible", visible: document.visibilityState === "visible" });
    const onPageHide = (e: PageTransitionEvent) => {
      if (!e.persisted) this.close();
      else this.#connection?.send({ t: "bye" });
    };
    const onPageShow = (e: PageTransitionEvent) => {
      if (e.persisted && this.#connection) this.#connection.send(this.#hello());
    };
    const onFocus = () => this.#connection?.send({ t: "visible", visible: true });
    // A touch of the page may allow sound it refused before.
    const onGesture = () => {
      if (this.#soundAllowed === false) this.#checkSound();
    };
    addEventListener("pointerdown", onGesture, true);
    addEventListener("keydown", onGesture, true);
    addEventListener("visibilitychange", onVisibility);
    addEventListener("pagehide", onPageHide);
    addEventListener("pageshow", onPageShow);
    addEventListener("focus", onFocus);
    this.#cleanup.push(() => {
      removeEventListener("visibilitychange", onVisibility);
      removeEventListener("pagehide", onPageHide);
      removeEventListener("pageshow", onPageShow);
      removeEventListener("focus", onFocus);
      removeEventListener("pointerdown", onGesture, true);
      removeEventListener("keydown", onGesture, true);
    });
  }

  /** Tells the engine whether this page may play sound (it picks ringer and media tabs by it). */
  #checkSound(): void {
    if (!globalThis.document) return;
    soundAllowed().then((allowed) => {
      this.#soundAllowed = allowed;
      // Tabs that say nothing count as able: only a refusal or a change needs saying.
      if (!allowed || this.#soundToldRefused) {
        this.#soundToldRefused = !allowed;
        this.#connection?.send({ t: "sound", allowed });
      }
    });
  }

  #onMessage(message: HostMessage): void {
    switch (message.t) {
      case "welcome": {
        const previous = this.#snapshot.engineId;
        if (previous && previous !== message.snapshot.engineId) {
          // A new engine (fallback host takeover): whatever the old one was doing is lost.
          this.#failPending("the phone engine restarted; try again");
        }
        this.#setSnapshot(message.snapshot);
        this.#maybeRestoreRegistration();
        return;
      }
      case "snapshot":
        this.#setSnapshot(message.snapshot);
        return;
      case "result": {
        const p = this.#pending.get(message.id);
        if (!p) return;
        this.#pending.delete(message.id);
        clearTimeout(p.timer);
        if (message.ok) p.resolve(message.value);
        else {
          const e = message.error!;
          p.reject(new PhoneError(e.code, e.message, e.sipStatus));
        }
        return;
      }
      case "media":
        this.#runMedia(message);
        return;
      case "ring":
        this.#ring(message.on, message.waiting ?? false);
        return;
      case "journal":
        this.#deliverJournal(message.entry);
        return;
      case "dtmf":
        this.#dtmf.emit(message.event);
        return;
      case "push":
        this.#pushLastEventId = message.event.id;
        this.#push.emit(message.event);
        return;
      case "push-ticket":
        this.#answerPushTicket(message.id);
        return;
      case "log":
        this.#logs.emit({ level: message.level, message: message.message });
        return;
      case "refused":
        // A new host of another scope took over (names shared by mistake): leave it.
        this.#logs.emit({ level: "error", message: message.reason });
        this.close();
        return;
      case "rehello":
        return;
    }
  }

  #setSnapshot(snapshot: PhoneSnapshot): void {
    const previous = this.#snapshot;
    this.#snapshot = snapshot;
    if (JSON.stringify(previous.devices) !== JSON.stringify(snapshot.devices)) {
      this.#media.applyDevices(snapshot.devices).catch(() => {});
      if (this.#ringing) this.#ring(true, this.#ringing.waiting, true);
    }
    this.#stateChange.emit(snapshot);
  }

  /** A new host (fallback tab host taking over) starts unregistered: register again. */
  #maybeRestoreRegistration(): void {
    if (
      this.#wantRegistered && this.#lastRegister &&
      this.#snapshot.registration.state === RegistrationState.Unregistered
    ) {
      const { account, options } = this.#lastRegister;
      this.#command({ op: "register", account, options }).catch(() => {});
    }
  }

  async #runMedia(message: Extract<HostMessage, { t: "media" }>): Promise<void> {
    try {
      const value = await this.#media.run(message.op, message.sdhId, message.callId, message.args);
      if (message.id) {
        this.#connection?.send({ t: "media-result", id: message.id, ok: true, value });
      }
    } catch (error) {
      if (!message.id) return;
      const e = error as PhoneError;
      this.#connection?.send({
        t: "media-result",
        id: message.id,
        ok: false,
        error: e?.message ?? String(error),
        code: e?.code,
      });
    }
  }

  #ring(on: boolean, waiting: boolean, restart = false): void {
    if (!on) {
      this.#ringing = undefined;
      this.#ringtone?.stop();
      return;
    }
    if (this.#ringing && this.#ringing.waiting === waiting && !restart) return;
    this.#ringing = { waiting };
    const d = this.#snapshot.devices;
    this.#ringtone?.start({
      volume: d.ringVolume,
      sinkId: d.ringerId ?? d.speakerId,
      waiting,
    }).catch(() => {});
  }

  async #deliverJournal(entry: JournalEntry): Promise<void> {
    let ok = true;
    this.#journal.emit(entry);
    const results = await Promise.allSettled(
      [...this.#journalCallbacks].map(async (cb) => await cb(entry)),
    );
    if (results.some((r) => r.status === "rejected")) ok = false;
    this.#connection?.send({ t: "journal-ack", entryId: entry.entryId, ok });
  }

  #command(command: Command): Promise<unknown> {
    if (this.#closed || !this.#connection) {
      return Promise.reject(new PhoneError("host-unavailable", "phone client is closed"));
    }
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new PhoneError("host-unavailable", `no answer from the phone engine (${command.op})`),
        );
      }, this.#commandTimeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.#connection!.send({ t: "cmd", id, command });
    });
  }

  #failPending(message: string): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PhoneError("host-unavailable", message));
    }
    this.#pending.clear();
  }

  register(account: PhoneAccount, options?: RegisterOptions): Promise<PhoneSnapshot> {
    this.#lastRegister = { account, options };
    this.#wantRegistered = true;
    return this.#command({ op: "register", account, options }) as Promise<PhoneSnapshot>;
  }

  unregister(): Promise<PhoneSnapshot> {
    this.#wantRegistered = false;
    return this.#command({ op: "unregister" }) as Promise<PhoneSnapshot>;
  }

  call(number: string, options: { bitrixCallId?: string } = {}): Promise<CallInfo> {
    return this.#command({ op: "call", number, bitrixCallId: options.bitrixCallId }) as Promise<
      CallInfo
    >;
  }

  answer(callId: string, options: { holdOthers?: boolean } = {}): Promise<CallInfo> {
    return this.#command({ op: "answer", callId, holdOthers: options.holdOthers }) as Promise<
      CallInfo
    >;
  }

  reject(callId: string, code = 486): Promise<CallInfo> {
    return this.#command({ op: "reject", callId, code }) as Promise<CallInfo>;
  }

  hangup(callId: string): Promise<CallInfo> {
    return this.#command({ op: "hangup", callId }) as Promise<CallInfo>;
  }

  mute(callId: string, on = true): Promise<CallInfo> {
    return this.#command({ op: "mute", callId, on }) as Promise<CallInfo>;
  }

  hold(callId: string, on = true): Promise<CallInfo> {
    return this.#command({ op: "hold", callId, on }) as Promise<CallInfo>;
  }

  dtmf(callId: string, tones: string, mode?: DtmfMode): Promise<{ via: "rfc4733" | "info" }> {
    return this.#command({ op: "dtmf", callId, tones, mode }) as Promise<
      { via: "rfc4733" | "info" }
    >;
  }

  transfer(callId: string, target: string): Promise<CallInfo> {
    return this.#command({ op: "transfer", callId, target }) as Promise<CallInfo>;
  }

  attendedTransfer(callId: string, toCallId: string): Promise<CallInfo> {
    return this.#command({ op: "attendedTransfer", callId, toCallId }) as Promise<CallInfo>;
  }

  setDevices(devices: DeviceSettings): Promise<PhoneSnapshot> {
    return this.#command({ op: "setDevices", devices }) as Promise<PhoneSnapshot>;
  }

  async listDevices(): Promise<AudioDevices> {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      microphones: all.filter((d) => d.kind === "audioinput"),
      speakers: all.filter((d) => d.kind === "audiooutput"),
      canSelectSpeaker: "setSinkId" in HTMLMediaElement.prototype,
    };
  }

  onJournal(callback: (entry: JournalEntry) => void | Promise<void>): () => void {
    const first = this.#journalCallbacks.size === 0;
    this.#journalCallbacks.add(callback);
    if (first) this.#connection?.send({ t: "journal-sub", on: true });
    return () => {
      this.#journalCallbacks.delete(callback);
      if (this.#journalCallbacks.size === 0) {
        this.#connection?.send({ t: "journal-sub", on: false });
      }
    };
  }

  onPushTicket(provider: () => Promise<string>): () => void {
    this.#pushProvider = provider;
    this.#connection?.send({ t: "push-sub", on: true });
    return () => {
      if (this.#pushProvider !== provider) return;
      this.#pushProvider = undefined;
      this.#connection?.send({ t: "push-sub", on: false });
    };
  }

  async #answerPushTicket(id: number): Promise<void> {
    const provider = this.#pushProvider;
    try {
      if (!provider) throw new Error("this page gives no push tickets");
      const url = await provider();
      this.#connection?.send({ t: "push-ticket-result", id, ok: true, url });
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      this.#connection?.send({ t: "push-ticket-result", id, ok: false, error: message });
    }
  }

  mediaStats(callId: string): Promise<MediaStats | null> {
    return this.#media.stats(callId);
  }

  waitFor(predicate: (s: PhoneSnapshot) => boolean, timeoutMs = 10_000): Promise<PhoneSnapshot> {
    if (predicate(this.#snapshot)) return Promise.resolve(this.#snapshot);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new PhoneError("internal", `state not reached within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.#stateChange.addListener((s) => {
        if (!predicate(s)) return;
        clearTimeout(timer);
        off();
        resolve(s);
      });
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#connection?.close();
    this.#closed = true;
    this.#ringtone?.stop();
    this.#media.closeAll();
    for (const fn of this.#cleanup) fn();
    this.#failPending("phone client closed");
  }
}

/** True for calls that are not over. */
export function isActiveCall(call: CallInfo): boolean {
  return call.state !== CallState.Ended;
}

/** Error codes as a type guard helper for UIs. */
export function isPhoneError(error: unknown, code?: PhoneErrorCode): error is PhoneError {
  return error instanceof PhoneError && (code === undefined || error.code === code);
}
