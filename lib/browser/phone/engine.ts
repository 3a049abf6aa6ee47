/**
 * The phone engine: one SIP.js UserAgent, Registerer and every call, shared by all tabs of an
 * origin. It runs in a SharedWorker or, where that is refused, in one elected tab; the host
 * adapter ({@link "./worker_host.ts"}, {@link "./tab_host.ts"}) feeds it tab connections and
 * messages and tells it when a tab dies. The engine never touches media: SDP work goes to the
 * tab that owns the call through {@link ProxySessionDescriptionHandler}.
 *
 * Responsibilities: registration with digest auth and reconnect/backoff, outgoing and incoming
 * calls, hold (re-INVITE), mute, DTMF (RFC 4733 in the media tab, SIP INFO fallback), blind and
 * attended transfer (REFER, Replaces), call waiting, media migration to another tab, ringing
 * one tab, and the call journal (delivered to one subscribed page, acknowledged).
 *
 * @module
 */
import {
  type Info,
  type Invitation,
  Inviter,
  type Notification,
  type Referral,
  Registerer,
  RegistererState,
  type Session,
  SessionState,
  SIPExtension,
  UserAgent,
} from "sip.js";
import { CALL_EDGES, CallState, LIVE_STATES } from "./call_state.ts";
import { ProxySessionDescriptionHandler, sdpAudioDirection } from "./proxy_sdh.ts";
import type { ClientMessage, Command, HostMessage, MediaConfig, MediaOp } from "./protocol.ts";
import {
  REGISTRATION_EDGES,
  type RegistrationError,
  type RegistrationErrorCode,
  RegistrationState,
} from "./registration_state.ts";
import { StateMachine } from "./state_machine.ts";
import {
  type CallEndReason,
  type CallInfo,
  type ConnectionState,
  type DeviceSettings,
  type DtmfMode,
  type JournalEntry,
  type PhoneAccount,
  PhoneError,
  type PhoneSnapshot,
  type RegisterOptions,
} from "./types.ts";

/** A connected tab as the host adapter sees it. */
export interface TabLink {
  readonly id: string;
  send(message: HostMessage): void;
}

/** The `hello` a tab sends once its liveness lock is held. */
export type TabHello = Extract<ClientMessage, { t: "hello" }>;

/** Engine construction options. */
export interface PhoneEngineOptions {
  /** Which host runs this engine (reported in snapshots). */
  host: "worker" | "tab";
  /** Diagnostic log sink. @defaultValue console */
  log?: (level: "debug" | "info" | "warn" | "error", message: string, data?: unknown) => void;
}

const DEFAULTS: Required<RegisterOptions> = {
  expiresSec: 300,
  iceGatheringTimeoutMs: 500,
  reconnectMinDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
  mediaTimeoutMs: 60_000,
};

const DTMF_TONES = /^[0-9A-D#*]+$/i;
const JOURNAL_OUTBOX_LIMIT = 500;

interface TabEntry {
  link: TabLink;
  visible: boolean;
  /** Last time it became visible (or connected), for picking ringer and media tabs. */
  activeAt: number;
  journal: boolean;
  /** The page may play sound (it said so, or said nothing). */
  sound: boolean;
}

interface CallRecord {
  info: CallInfo;
  fsm: StateMachine<CallState>;
  session: Session;
  sdh?: ProxySessionDescriptionHandler;
  endHint?: CallEndReason;
  /** Serialises re-INVITEs (SIP.js refuses a second one while one is pending). */
  reinvites: Promise<unknown>;
  /** When ICE was last restarted (rate limit). */
  iceRestartAt?: number;
}

interface PendingMedia {
  tabId: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

interface OutboxItem {
  entry: JournalEntry;
  /** Tab it was sent to and not yet acknowledged by. */
  sentTo?: string;
  retryAt?: number;
}

let idCounter = 0;
function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${(++idCounter).toString(36)}${
    Math.random().toString(36).slice(2, 6)
  }`;
}

/**
 * The accept/reject callbacks of a SIP.js request delegate that settle a promise: resolved on a
 * 2xx, rejected with a `request-failed` PhoneError naming `method` and the status otherwise.
 */
function settleOnAnswer(
  method: string,
  resolve: () => void,
  reject: (error: PhoneError) => void,
) {
  return {
    onAccept: () => resolve(),
    onReject: (response: { message: { statusCode?: number } }) =>
      reject(
        new PhoneError(
          "request-failed",
          `${method} rejected: ${response.message.statusCode}`,
          response.message.statusCode,
        ),
      ),
  };
}

function sameAccount(a: PhoneAccount, b: PhoneAccount): boolean {
  return a.wsUrl === b.wsUrl && a.sipUri === b.sipUri && a.authUser === b.authUser &&
    a.password === b.password && (a.displayName ?? "") === (b.displayName ?? "") &&
    JSON.stringify(a.iceServers ?? []) === JSON.stringify(b.iceServers ?? []);
}

/** The shared phone engine. */
export class PhoneEngine {
  readonly #hostKind: "worker" | "tab";
  readonly #log: NonNullable<PhoneEngineOptions["log"]>;
  readonly #tabs = new Map<string, TabEntry>();
  readonly #calls = new Map<string, CallRecord>();
  readonly #bySession = new WeakMap<Session, CallRecord>();
  readonly #pendingMedia = new Map<number, PendingMedia>();
  readonly #outbox: OutboxItem[] = [];
  readonly #reg = new StateMachine<RegistrationState>(
    "registration",
    RegistrationState.Unregistered,
    REGISTRATION_EDGES,
  );
  #regError?: RegistrationError;
  #connection: ConnectionState = "disconnected";
  #account?: PhoneAccount;
  #options: Required<RegisterOptions> = { ...DEFAULTS };
  #devices: DeviceSettings = {};
  #ua?: UserAgent;
  #registerer?: Registerer;
  #registering?: Promise<void>;
  #everConnected = false;
  #reconnectTimer?: ReturnType<typeof setTimeout>;
  #reconnectAttempt = 0;
  #retryAt?: number;
  #mediaSeq = 0;
  #ringerTabId?: string;
  #ringingWaiting = false;
  #snapshotQueued = false;
  #journalTimer?: ReturnType<typeof setTimeout>;
  #generation = 0;
  readonly #engineId = newId("engine");

  constructor(options: PhoneEngineOptions) {
    this.#hostKind = options.host;
    // deno-lint-ignore no-console
    const sink = options.log ?? ((level, message, data) => console[level](message, data ?? ""));
    this.#log = (level, message, data) => {
      sink(level, message, data);
      if (level === "debug") return;
      const detail = data === undefined
        ? ""
        : ` ${typeof data === "string" ? data : JSON.stringify(data)}`;
      const log: HostMessage = { t: "log", level, message: `${message}${detail}` };
      for (const tab of this.#tabs.values()) tab.link.send(log);
    };
    this.#reg.stateChange.addListener(({ from, to }) => {
      this.#log("info", `registration ${from} -> ${to}`, this.#regError);
      this.#queueSnapshot();
    });
  }

  // ---------------------------------------------------------------- tabs

  /** A tab connected (its hello arrived after its liveness lock was granted). */
  attachTab(link: TabLink, hello: TabHello): void {
    this.#tabs.set(link.id, {
      link,
      visible: hello.visible,
      activeAt: Date.now(),
      journal: hello.journal,
      sound: this.#tabs.get(link.id)?.sound ?? true,
    });
    this.#log("debug", `tab ${link.id} attached (${this.#tabs.size} tabs)`);
    link.send({ t: "welcome", snapshot: this.snapshot() });
    this.#updateRinger();
    if (hello.journal) this.#flushJournal();
  }

  /** A tab went away (lock released, pagehide, heartbeat lost). Moves its calls' media. */
  detachTab(tabId: string, reason: string): void {
    const tab = this.#tabs.get(tabId);
    if (!tab) return;
    this.#tabs.delete(tabId);
    this.#log("info", `tab ${tabId} gone (${reason}); ${this.#tabs.size} left`);
    for (const [id, p] of this.#pendingMedia) {
      if (p.tabId !== tabId) continue;
      this.#pendingMedia.delete(id);
      clearTimeout(p.timer);
      p.reject(new PhoneError("media-failed", `media tab ${tabId} is gone`));
    }
    if (this.#ringerTabId === tabId) this.#ringerTabId = undefined;
    for (const item of this.#outbox) if (item.sentTo === tabId) item.sentTo = undefined;
    for (const rec of this.#calls.values()) {
      if (rec.info.mediaTabId === tabId) this.#mediaTabLost(rec);
    }
    this.#updateRinger();
    this.#flushJournal();
    if (this.#tabs.size === 0 && this.#account) {
      // The last page is leaving and the worker dies with it: take the contact off the
      // registrar now rather than leave a dead one until it expires.
      this.#log("info", "no tab left: unregistering");
      this.unregister().catch(() => {});
    }
  }

  /** True while `tabId` is attached. */
  hasTab(tabId: string): boolean {
    return this.#tabs.has(tabId);
  }

  /** Number of connected tabs. */
  get tabCount(): number {
    return this.#tabs.size;
  }

  /** A message from a connected tab. */
  handle(tabId: string, message: ClientMessage): void {
    const tab = this.#tabs.get(tabId);
    switch (message.t) {
      case "cmd":
        this.#runCommand(tabId, message.id, message.command);
        return;
      case "media-result": {
        const p = this.#pendingMedia.get(message.id);
        if (!p) return;
        this.#pendingMedia.delete(message.id);
        clearTimeout(p.timer);
        if (message.ok) p.resolve(message.value);
        else {
          const code = message.code === "media-denied" ? "media-denied" : "media-failed";
          p.reject(new PhoneError(code, message.error ?? "media request failed"));
        }
        return;
      }
      case "sound":
        if (tab && tab.sound !== message.allowed) {
          tab.sound = message.allowed;
          this.#updateRinger();
          this.#queueSnapshot();
        }
        return;
      case "visible":
        if (tab) {
          tab.visible = message.visible;
          if (message.visible) tab.activeAt = Date.now();
          this.#updateRinger();
        }
        return;
      case "journal-sub":
        if (tab) {
          tab.journal = message.on;
          if (!message.on) {
            for (const item of this.#outbox) if (item.sentTo === tabId) item.sentTo = undefined;
          }
          this.#flushJournal();
        }
        return;
      case "journal-ack": {
        const index = this.#outbox.findIndex((i) => i.entry.entryId === message.entryId);
        if (index < 0) return;
        if (message.ok) this.#outbox.splice(index, 1);
        else {
          this.#outbox[index].sentTo = undefined;
          this.#outbox[index].retryAt = Date.now() + 5000;
          this.#scheduleJournalRetry(5000);
        }
        return;
      }
      case "bye":
        this.detachTab(tabId, "pagehide");
        return;
      case "ice": {
        const rec = this.#calls.get(message.callId);
        if (!rec || rec.sdh?.sdhId !== message.sdhId) return;
        if (message.state === "failed") this.#restartIce(rec, "ICE failed");
        return;
      }
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
      registration: {
        state: this.#reg.state,
        error: this.#regError,
        sipUri: this.#account?.sipUri,
        retryAt: this.#retryAt,
      },
      connection: this.#connection,
      calls: [...this.#calls.values()].map((r) => ({ ...r.info })),
      devices: { ...this.#devices },
      canPlaySound: [...this.#tabs.values()].some((t) => t.sound),
    };
  }

  #queueSnapshot(): void {
    if (this.#snapshotQueued) return;
    this.#snapshotQueued = true;
    queueMicrotask(() => {
      this.#snapshotQueued = false;
      const snapshot = this.snapshot();
      for (const tab of this.#tabs.values()) tab.link.send({ t: "snapshot", snapshot });
    });
  }

  // ---------------------------------------------------------------- commands

  async #runCommand(tabId: string, id: number, command: Command): Promise<void> {
    const reply = (message: HostMessage) => this.#tabs.get(tabId)?.link.send(message);
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
    const uri = UserAgent.makeURI(account.sipUri);
    if (!uri || !/^wss?:\/\/./.test(account.wsUrl) || !account.authUser) {
      throw new PhoneError("invalid-account", "invalid SIP URI, WebSocket URL or auth user");
    }
    const same = this.#account && sameAccount(this.#account, account);
    if (same && this.#reg.state === RegistrationState.Registered) return this.snapshot();
    if (same && this.#reg.state === RegistrationState.Registering) {
      await this.#registrationOutcome();
      return this.snapshot();
    }
    if (this.#ua) await this.#teardown();
    this.#account = { ...account, iceServers: account.iceServers ?? [] };
    this.#options = { ...DEFAULTS, ...stripUndefined(options) };
    this.#regError = undefined;
    this.#reg.transition(RegistrationState.Registering);
    const outcome = this.#registrationOutcome();
    this.#startUserAgent(uri);
    await outcome;
    return this.snapshot();
  }

  /** Unregisters, hangs up every call and stops the UserAgent. */
  async unregister(): Promise<PhoneSnapshot> {
    await this.#teardown();
    this.#account = undefined;
    this.#regError = undefined;
    this.#reg.tryTransition(RegistrationState.Unregistered);
    this.#queueSnapshot();
    return this.snapshot();
  }

  /** Stops everything (the host is going away). */
  async shutdown(): Promise<void> {
    await this.#teardown();
  }

  #registrationOutcome(): Promise<void> {
    return new Promise((resolve, reject) => {
      const off = this.#reg.stateChange.addListener(({ to }) => {
        if (to === RegistrationState.Registered) {
          off();
          resolve();
        } else if (to === RegistrationState.Failed || to === RegistrationState.Unregistered) {
          off();
          const e = this.#regError;
          reject(
            new PhoneError(
              e?.code ?? "unreachable",
              e?.message ?? "registration stopped",
              e?.sipStatus,
            ),
          );
        }
      });
    });
  }

  #fail(code: RegistrationErrorCode, message: string, sipStatus?: number): void {
    this.#regError = { code, message, sipStatus };
    if (!this.#reg.tryTransition(RegistrationState.Failed)) this.#queueSnapshot();
  }

  #startUserAgent(uri: NonNullable<ReturnType<typeof UserAgent.makeURI>>): void {
    const account = this.#account!;
    const generation = ++this.#generation;
    const ua = new UserAgent({
      uri,
      displayName: account.displayName,
      authorizationUsername: account.authUser,
      authorizationPassword: account.password,
      transportOptions: { server: account.wsUrl, connectionTimeout: 5, keepAliveInterval: 0 },
      sessionDescriptionHandlerFactory: (session) => this.#makeSdh(session),
      sipExtensionReplaces: SIPExtension.Supported,
      reconnectionAttempts: 0,
      logLevel: "error",
      logBuiltinEnabled: false,
      logConnector: (level, category, _label, content) => {
        if (level === "error") this.#log("warn", `sip.js ${category}: ${content}`);
      },
      userAgentString: "b24-webrtc-phone (SIP.js 0.21)",
      delegate: {
        onConnect: () => generation === this.#generation && this.#onConnect(),
        onDisconnect: (error) => generation === this.#generation && this.#onDisconnect(error),
        onInvite: (invitation) => generation === this.#generation && this.#onInvite(invitation),
      },
    });
    this.#ua = ua;
    this.#registerer = new Registerer(ua, { expires: this.#options.expiresSec });
    this.#registerer.stateChange.addListener((state) => {
      if (generation !== this.#generation) return;
      if (state === RegistererState.Registered) {
        this.#regError = undefined;
        this.#retryAt = undefined;
        this.#reg.tryTransition(RegistrationState.Registered);
      }
    });
    this.#connection = "connecting";
    this.#queueSnapshot();
    ua.start().catch((error) => {
      if (generation !== this.#generation) return;
      this.#connection = "disconnected";
      this.#fail("unreachable", `cannot connect to ${account.wsUrl}: ${error?.message ?? error}`);
      this.#scheduleReconnect();
    });
  }

  #onConnect(): void {
    this.#log("info", "WebSocket connected");
    this.#connection = "connected";
    this.#reconnectAttempt = 0;
    this.#retryAt = undefined;
    const reconnected = this.#everConnected;
    this.#everConnected = true;
    this.#reg.tryTransition(RegistrationState.Registering);
    this.#queueSnapshot();
    this.#sendRegister();
    if (reconnected) {
      // After a network change media may be dead too: restart ICE where it is not connected.
      // (Where it still is, the far end keeps the call; an ICE failure later restarts it.)
      for (const rec of this.#calls.values()) {
        if (!LIVE_STATES.includes(rec.fsm.state) || !rec.sdh) continue;
        this.#mediaRequest(rec, "iceState", rec.sdh.sdhId, {}).then((state) => {
          if (state !== "connected" && state !== "completed") this.#restartIce(rec, `ICE ${state}`);
        }).catch(() => {});
      }
    }
  }

  /** ICE restart by re-INVITE (once per 10 s per call); retried once after glare (491). */
  #restartIce(rec: CallRecord, why: string, retry = true): void {
    if (!LIVE_STATES.includes(rec.fsm.state) || this.#connection !== "connected") return;
    const now = Date.now();
    if (retry && rec.iceRestartAt && now - rec.iceRestartAt < 10_000) return;
    rec.iceRestartAt = now;
    this.#log("info", `restarting ICE of ${rec.info.id} (${why})`);
    this.#reinvite(rec, { hold: rec.info.held, offerOptions: { iceRestart: true } })
      .catch((e) => {
        this.#log("warn", `ICE restart of ${rec.info.id} failed`, e?.message);
        const status = (e as PhoneError)?.sipStatus;
        if (retry && (status === 491 || status === 500)) {
          setTimeout(
            () => this.#restartIce(rec, "retry after glare", false),
            1000 + Math.random() * 1500,
          );
        }
      });
  }

  #onDisconnect(error?: Error): void {
    this.#connection = "disconnected";
    this.#log("warn", "WebSocket disconnected", error?.message);
    if (!this.#account) return;
    if (this.#reg.state === RegistrationState.Registered) {
      this.#reg.transition(RegistrationState.Registering);
    }
    this.#queueSnapshot();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#reconnectTimer || !this.#account) return;
    if (this.#regError?.code === "bad-credentials") return;
    const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = this.#options;
    const base = Math.min(max, min * 2 ** this.#reconnectAttempt);
    const delay = Math.round(base * (0.8 + Math.random() * 0.4));
    this.#reconnectAttempt++;
    this.#retryAt = Date.now() + delay;
    this.#log("info", `reconnecting in ${delay} ms (attempt ${this.#reconnectAttempt})`);
    this.#queueSnapshot();
    const generation = this.#generation;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (generation !== this.#generation || !this.#ua) return;
      this.#connection = "connecting";
      if (this.#reg.state === RegistrationState.Failed) {
        this.#reg.transition(RegistrationState.Registering);
      }
      this.#queueSnapshot();
      this.#ua.reconnect().catch((error) => {
        if (generation !== this.#generation) return;
        this.#connection = "disconnected";
        this.#fail("unreachable", `cannot reach ${this.#account?.wsUrl}: ${error?.message}`);
        this.#scheduleReconnect();
      });
    }, delay);
  }

  #sendRegister(): void {
    const registerer = this.#registerer;
    if (!registerer || this.#registering) return;
    const generation = this.#generation;
    this.#registering = registerer.register({
      requestDelegate: {
        // SIP.js only emits a state change on the first success; re-REGISTERs after a
        // reconnect land here.
        onAccept: () => {
          if (generation !== this.#generation) return;
          this.#regError = undefined;
          this.#retryAt = undefined;
          this.#reg.tryTransition(RegistrationState.Registered);
        },
        onReject: (response) => {
          if (generation !== this.#generation) return;
          const status = response.message.statusCode;
          if (status === 401 || status === 403 || status === 407) {
            this.#fail("bad-credentials", `the server refused the credentials (${status})`, status);
          } else {
            this.#fail(
              "rejected",
              `REGISTER failed: ${status} ${response.message.reasonPhrase}`,
              status,
            );
            this.#scheduleReconnect();
          }
        },
      },
    }).then(() => {}, (error) => {
      if (generation !== this.#generation) return;
      this.#log("warn", "REGISTER could not be sent", error?.message);
      // A REGISTER still pending on a dead connection: retry shortly.
      setTimeout(() => generation === this.#generation && this.#sendRegister(), 1000);
    }).finally(() => {
      this.#registering = undefined;
    });
  }

  async #teardown(): Promise<void> {
    this.#generation++;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#reconnectAttempt = 0;
    this.#retryAt = undefined;
    this.#everConnected = false;
    const ua = this.#ua;
    const registerer = this.#registerer;
    this.#ua = undefined;
    this.#registerer = undefined;
    this.#registering = undefined;
    for (const rec of [...this.#calls.values()]) {
      if (rec.fsm.state !== CallState.Ended) {
        await this.#terminate(rec, "local-hangup").catch(() => {});
      }
    }
    if (registerer && registerer.state === RegistererState.Registered) {
      await Promise.race([
        registerer.unregister().catch(() => {}),
        new Promise((r) => setTimeout(r, 1500)),
      ]);
    }
    if (ua) await ua.stop().catch(() => {});
    this.#connection = "disconnected";
    this.#queueSnapshot();
  }

  // ---------------------------------------------------------------- calls

  #requireUa(): UserAgent {
    if (!this.#ua || !this.#account) throw new PhoneError("not-registered", "no SIP account");
    if (this.#connection !== "connected") {
      throw new PhoneError("not-registered", "not connected to the SIP server");
    }
    return this.#ua;
  }

  #call(callId: string): CallRecord {
    const rec = this.#calls.get(callId);
    if (!rec || rec.fsm.state === CallState.Ended) {
      throw new PhoneError("no-such-call", `no call ${callId}`);
    }
    return rec;
  }

  #targetUri(number: string) {
    const account = this.#account!;
    const domain = UserAgent.makeURI(account.sipUri)!.host;
    const trimmed = number.trim();
    let text: string;
    if (/^sips?:/i.test(trimmed)) text = trimmed;
    else if (trimmed.includes("@")) text = `sip:${trimmed}`;
    else text = `sip:${trimmed.replace(/[\s().-]/g, "")}@${domain}`;
    const uri = UserAgent.makeURI(text);
    if (!uri) throw new PhoneError("invalid-state", `cannot dial "${number}"`);
    return uri;
  }

  #newRecord(
    session: Session,
    direction: "inbound" | "outbound",
    number: string,
    state: CallState,
    mediaTabId: string | undefined,
    extra: Partial<CallInfo> = {},
  ): CallRecord {
    const sipCallId = (session as Inviter | Invitation).request.callId;
    const info: CallInfo = {
      id: newId("call"),
      sipCallId,
      direction,
      number,
      state,
      muted: false,
      held: false,
      remoteHeld: false,
      mediaTabId,
      startedAt: Date.now(),
      ...extra,
    };
    const fsm = new StateMachine<CallState>(`call ${info.id}`, state, CALL_EDGES);
    const rec: CallRecord = { info, fsm, session, reinvites: Promise.resolve() };
    fsm.stateChange.addListener(({ to }) => {
      rec.info.state = to;
      this.#updateRinger();
      this.#queueSnapshot();
    });
    this.#calls.set(info.id, rec);
    this.#bySession.set(session, rec);
    session.stateChange.addListener((s) => this.#onSessionState(rec, s));
    session.delegate = {
      onInfo: (info) => this.#onInfo(rec, info),
      onRefer: (referral) => this.#onRefer(rec, referral),
      onInvite: () => this.#queueSnapshot(),
    };
    this.#journal(rec, "start");
    this.#updateRinger();
    this.#queueSnapshot();
    return rec;
  }

  #onSessionState(rec: CallRecord, state: SessionState): void {
    if (state === SessionState.Established) {
      if (!LIVE_STATES.includes(rec.fsm.state) && rec.fsm.can(CallState.Connected)) {
        rec.info.answeredAt = Date.now();
        rec.info.sipStatus = 200;
        rec.fsm.transition(CallState.Connected);
        this.#journal(rec, "answer");
      }
    } else if (state === SessionState.Terminated) {
      // SIP.js reports Terminated before its request delegate sees the final response.
      setTimeout(() => this.#ended(rec), 0);
    }
  }

  #ended(rec: CallRecord): void {
    if (rec.fsm.state === CallState.Ended) return;
    const answered = rec.info.answeredAt !== undefined;
    let reason = rec.endHint;
    if (!reason) {
      if (answered) reason = "remote-hangup";
      else if (rec.info.direction === "inbound") reason = "missed";
      else reason = rec.info.sipStatus && rec.info.sipStatus >= 300 ? "refused" : "failed";
    }
    if (!answered) {
      if (reason === "missed" || reason === "cancelled") rec.info.sipStatus ??= 487;
      if (reason === "no-media-tab" || reason === "media-denied") rec.info.sipStatus ??= 488;
      rec.info.sipStatus ??= 500;
    }
    rec.info.endReason = reason;
    rec.info.endedAt = Date.now();
    rec.fsm.transition(CallState.Ended);
    this.#journal(rec, "end");
    // Keep ended calls briefly so every tab sees the final state, then forget them.
    setTimeout(() => {
      this.#calls.delete(rec.info.id);
      this.#queueSnapshot();
    }, 5000);
  }

  /**
   * Places a call from `tabId` (which will own its media). Resolves once the INVITE is sent.
   * `bitrixCallId` (a click-to-call's card) goes into the call's info and its journal start.
   */
  call(number: string, tabId: string, bitrixCallId?: string): Promise<CallInfo> {
    const ua = this.#requireUa();
    if (!number.trim()) throw new PhoneError("invalid-state", "empty number");
    const target = this.#targetUri(number);
    const inviter = new Inviter(ua, target, {
      sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
    });
    const rec = this.#newRecord(
      inviter,
      "outbound",
      target.user ?? number,
      CallState.Dialing,
      this.#mediaTabFor(tabId),
      bitrixCallId ? { bitrixCallId } : {},
    );
    this.#sendInvite(rec, inviter);
    return Promise.resolve({ ...rec.info });
  }

  #sendInvite(rec: CallRecord, inviter: Inviter): void {
    inviter.invite({
      requestDelegate: {
        onProgress: (response) => {
          const status = response.message.statusCode;
          if ((status === 180 || status === 183) && rec.fsm.state === CallState.Dialing) {
            rec.fsm.transition(CallState.Ringing);
          }
        },
        onReject: (response) => {
          rec.info.sipStatus = response.message.statusCode;
        },
      },
    }).catch((error) => {
      if (error instanceof PhoneError && error.code === "media-denied") {
        rec.endHint = "media-denied";
      }
      this.#log("warn", `INVITE for ${rec.info.id} failed`, error?.message);
      if (inviter.state === SessionState.Initial || inviter.state === SessionState.Establishing) {
        inviter.cancel().catch(() => {});
      }
      if (inviter.state === SessionState.Terminated || inviter.state === SessionState.Initial) {
        this.#ended(rec);
      }
    });
  }

  #onInvite(invitation: Invitation): void {
    const remote = invitation.remoteIdentity;
    const replaced = invitation.replacee ? this.#bySession.get(invitation.replacee) : undefined;
    const rec = this.#newRecord(
      invitation,
      "inbound",
      remote.uri.user ?? remote.uri.toString(),
      CallState.Incoming,
      replaced?.info.mediaTabId,
      { displayName: remote.displayName || undefined },
    );
    if (replaced) {
      // Attended transfer towards us: the new dialog replaces a call we already have.
      replaced.endHint = "replaced";
      rec.fsm.transition(CallState.Connecting);
      invitation.accept({
        sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
      }).catch((e) => this.#log("warn", "accepting a replacing INVITE failed", e?.message));
    }
  }

  /** Answers an incoming call; `tabId` owns its media. Other live calls are held first. */
  async answer(callId: string, tabId: string, holdOthers: boolean): Promise<CallInfo> {
    const rec = this.#call(callId);
    if (rec.fsm.state !== CallState.Incoming) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}, not incoming`);
    }
    rec.info.mediaTabId = this.#mediaTabFor(tabId);
    rec.fsm.transition(CallState.Connecting);
    if (holdOthers) {
      for (const other of this.#calls.values()) {
        if (other !== rec && other.fsm.state === CallState.Connected) {
          await this.hold(other.info.id, true).catch((e) =>
            this.#log("warn", `holding ${other.info.id} failed`, e?.message)
          );
        }
      }
    }
    try {
      await (rec.session as Invitation).accept({
        sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
      });
    } catch (error) {
      if (error instanceof PhoneError && error.code === "media-denied") {
        rec.endHint = "media-denied";
        await (rec.session as Invitation).reject({ statusCode: 488 }).catch(() => {});
        throw error;
      }
      throw new PhoneError("media-failed", `answer failed: ${(error as Error)?.message}`);
    }
    return { ...rec.info };
  }

  /** Rejects an incoming call with `code` (486 Busy Here, 603 Decline, ...). */
  async reject(callId: string, code: number): Promise<CallInfo> {
    const rec = this.#call(callId);
    if (rec.fsm.state !== CallState.Incoming) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}, not incoming`);
    }
    if (code < 400 || code > 699) throw new PhoneError("invalid-state", `bad reject code ${code}`);
    rec.endHint = "rejected";
    rec.info.sipStatus = code;
    rec.fsm.transition(CallState.Ending);
    await (rec.session as Invitation).reject({ statusCode: code });
    return { ...rec.info };
  }

  /** Ends a call in whatever state it is: CANCEL, decline or BYE. */
  async hangup(callId: string): Promise<CallInfo> {
    const rec = this.#call(callId);
    await this.#terminate(rec, "local-hangup");
    return { ...rec.info };
  }

  async #terminate(rec: CallRecord, reason: CallEndReason): Promise<void> {
    const session = rec.session;
    const state = rec.fsm.state;
    if (state === CallState.Ended || state === CallState.Ending) return;
    if (state === CallState.Incoming) {
      rec.endHint = "rejected";
      rec.info.sipStatus = 603;
      rec.fsm.transition(CallState.Ending);
      await (session as Invitation).reject({ statusCode: 603 });
      return;
    }
    rec.endHint ??= reason;
    rec.fsm.transition(CallState.Ending);
    if (session.state === SessionState.Established) {
      await session.bye();
    } else if (session instanceof Inviter) {
      if (reason === "local-hangup") rec.endHint = "cancelled";
      await session.cancel();
    } else if (session.state === SessionState.Terminated) {
      this.#ended(rec);
    } else {
      // An inbound call being answered: SIP.js sends BYE once the ACK arrives.
      await session.bye().catch(() => (session as Invitation).reject().catch(() => {}));
    }
  }

  /** Mutes or unmutes the microphone of a call (in its media tab). */
  mute(callId: string, on: boolean): Promise<CallInfo> {
    const rec = this.#call(callId);
    rec.info.muted = on;
    if (rec.sdh && rec.info.mediaTabId) {
      this.#mediaNotify(rec, "mute", rec.sdh.sdhId, { on });
    }
    this.#queueSnapshot();
    return Promise.resolve({ ...rec.info });
  }

  /** Holds or resumes a call by re-INVITE (sendonly / sendrecv). */
  async hold(callId: string, on: boolean): Promise<CallInfo> {
    const rec = this.#call(callId);
    if (!LIVE_STATES.includes(rec.fsm.state)) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}`);
    }
    if (rec.info.held === on) return { ...rec.info };
    await this.#reinvite(rec, { hold: on });
    rec.info.held = on;
    rec.fsm.tryTransition(on ? CallState.Held : CallState.Connected);
    this.#queueSnapshot();
    return { ...rec.info };
  }

  #reinvite(
    rec: CallRecord,
    sdhOptions: Record<string, unknown>,
    withoutSdp = false,
  ): Promise<void> {
    const run = () =>
      new Promise<void>((resolve, reject) => {
        if (rec.session.state !== SessionState.Established) {
          reject(new PhoneError("invalid-state", "call is not established"));
          return;
        }
        rec.session.invite({
          withoutSdp,
          sessionDescriptionHandlerOptions: {
            constraints: { audio: true, video: false },
            ...sdhOptions,
          },
          requestDelegate: settleOnAnswer("re-INVITE", resolve, reject),
        }).catch((error) =>
          reject(
            error instanceof PhoneError
              ? error
              : new PhoneError("request-failed", `re-INVITE failed: ${error?.message}`),
          )
        );
      });
    const next = rec.reinvites.then(run, run);
    rec.reinvites = next.catch(() => {});
    return next;
  }

  /**
   * Sends DTMF. `auto`: RFC 4733 through the media tab's RTCDTMFSender when the far end
   * negotiated telephone-event, else SIP INFO (application/dtmf-relay), one request per tone.
   */
  async dtmf(callId: string, tones: string, mode: DtmfMode): Promise<{ via: "rfc4733" | "info" }> {
    const rec = this.#call(callId);
    if (!LIVE_STATES.includes(rec.fsm.state)) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}`);
    }
    if (!DTMF_TONES.test(tones)) throw new PhoneError("invalid-state", `bad DTMF "${tones}"`);
    if (mode !== "info" && rec.sdh) {
      const sent = await this.#mediaRequest(rec, "dtmf", rec.sdh.sdhId, { tones });
      if (sent === true) return { via: "rfc4733" };
      if (mode === "rfc4733") {
        throw new PhoneError("request-failed", "RFC 4733 DTMF is not available on this call");
      }
    }
    for (const tone of tones) {
      await new Promise<void>((resolve, reject) => {
        rec.session.info({
          requestOptions: {
            body: {
              contentDisposition: "render",
              contentType: "application/dtmf-relay",
              content: `Signal=${tone}\r\nDuration=160\r\n`,
            },
          },
          requestDelegate: settleOnAnswer("INFO", resolve, reject),
        }).catch(reject);
      });
    }
    return { via: "info" };
  }

  #onInfo(rec: CallRecord, info: Info): void {
    const body = info.request.body ?? "";
    const type = (info.request.getHeader("content-type") ?? "").toLowerCase();
    let tone: string | undefined;
    if (type.includes("application/dtmf-relay")) {
      tone = body.match(/Signal\s*=\s*([0-9A-D#*])/i)?.[1];
    } else if (type.includes("application/dtmf")) tone = body.trim().match(/^([0-9A-D#*])/i)?.[1];
    info.accept().catch(() => {});
    if (!tone) return;
    const message: HostMessage = { t: "dtmf", event: { callId: rec.info.id, tone, via: "info" } };
    for (const tab of this.#tabs.values()) tab.link.send(message);
  }

  /** Blind transfer: REFER the far party to `target`; we hang up once it reports success. */
  async transfer(callId: string, target: string): Promise<CallInfo> {
    const rec = this.#call(callId);
    if (!LIVE_STATES.includes(rec.fsm.state)) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}`);
    }
    await this.#refer(rec, this.#targetUri(target), []);
    return { ...rec.info };
  }

  /** Attended transfer: REFER the far party of `callId` to the party of `toCallId` (Replaces). */
  async attendedTransfer(callId: string, toCallId: string): Promise<CallInfo> {
    const rec = this.#call(callId);
    const to = this.#call(toCallId);
    for (const r of [rec, to]) {
      if (!LIVE_STATES.includes(r.fsm.state)) {
        throw new PhoneError("invalid-state", `call ${r.info.id} is ${r.fsm.state}`);
      }
    }
    await this.#refer(rec, to.session, [to]);
    return { ...rec.info };
  }

  #refer(
    rec: CallRecord,
    target: Session | NonNullable<ReturnType<typeof UserAgent.makeURI>>,
    alsoEnd: CallRecord[],
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      rec.session.refer(target, {
        requestDelegate: settleOnAnswer("REFER", resolve, reject),
        onNotify: (notification: Notification) => {
          notification.accept().catch(() => {});
          const frag = notification.request.body ?? "";
          const status = Number(frag.match(/SIP\/2\.0\s+(\d{3})/)?.[1] ?? 0);
          if (status >= 200 && status < 300) {
            for (const r of [rec, ...alsoEnd]) {
              if (r.fsm.state !== CallState.Ended) {
                this.#terminate(r, "transferred").catch(() => {});
              }
            }
          }
        },
      }).catch((error) =>
        reject(new PhoneError("request-failed", `REFER failed: ${error?.message}`))
      );
    });
  }

  /** The far party asked us to call someone else (we are the transferee). */
  #onRefer(rec: CallRecord, referral: Referral): void {
    referral.accept().then(() => {
      const inviter = referral.makeInviter({
        sessionDescriptionHandlerOptions: { constraints: { audio: true, video: false } },
      });
      const uri = referral.referTo.uri;
      // With Replaces the URI is the far party's contact; SIP.js puts its AOR in the name.
      const named = referral.replaces ? referral.referTo.displayName : "";
      const number = named ? named.replace(/^sips?:/, "").replace(/@.*$/, "") : uri.user;
      const next = this.#newRecord(
        inviter,
        "outbound",
        number || uri.toString(),
        CallState.Dialing,
        rec.info.mediaTabId ?? this.#pickMediaTab(),
        { referredBy: rec.info.id },
      );
      this.#sendInvite(next, inviter);
    }).catch((error) => this.#log("warn", "REFER handling failed", error?.message));
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

  // ---------------------------------------------------------------- media

  #makeSdh(session: Session): ProxySessionDescriptionHandler {
    const rec = this.#bySession.get(session);
    if (!rec) throw new Error("session description handler for an unknown session");
    if (!rec.info.mediaTabId || !this.#tabs.has(rec.info.mediaTabId)) {
      rec.info.mediaTabId = this.#pickMediaTab();
    }
    const sdh = new ProxySessionDescriptionHandler({
      request: (op, sdhId, args) => this.#mediaRequest(rec, op, sdhId, args),
      notify: (op, sdhId, args) => this.#mediaNotify(rec, op, sdhId, args),
      onRemoteDescription: (sdp) => {
        const direction = sdpAudioDirection(sdp);
        const remoteHeld = direction === "sendonly" || direction === "inactive";
        if (remoteHeld !== rec.info.remoteHeld) {
          rec.info.remoteHeld = remoteHeld;
          this.#queueSnapshot();
        }
      },
    });
    rec.sdh = sdh;
    return sdh;
  }

  #mediaConfig(rec: CallRecord): MediaConfig {
    return {
      iceServers: this.#account?.iceServers ?? [],
      iceGatheringTimeoutMs: this.#options.iceGatheringTimeoutMs,
      muted: rec.info.muted,
      devices: { ...this.#devices },
    };
  }

  #mediaRequest(
    rec: CallRecord,
    op: MediaOp,
    sdhId: string,
    args: Record<string, unknown>,
  ): Promise<unknown> {
    const tabId = rec.info.mediaTabId;
    const tab = tabId ? this.#tabs.get(tabId) : undefined;
    if (!tab || !tabId) {
      return Promise.reject(new PhoneError("media-failed", "no tab owns this call's media"));
    }
    const id = ++this.#mediaSeq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingMedia.delete(id);
        reject(new PhoneError("media-failed", `media tab did not answer ${op}`));
      }, this.#options.mediaTimeoutMs);
      this.#pendingMedia.set(id, { tabId, resolve, reject, timer });
      tab.link.send({
        t: "media",
        id,
        op,
        sdhId,
        callId: rec.info.id,
        args: { ...args, config: this.#mediaConfig(rec) },
      });
    });
  }

  #mediaNotify(rec: CallRecord, op: MediaOp, sdhId: string, args: Record<string, unknown>): void {
    const tab = rec.info.mediaTabId ? this.#tabs.get(rec.info.mediaTabId) : undefined;
    tab?.link.send({
      t: "media",
      id: 0,
      op,
      sdhId,
      callId: rec.info.id,
      args: { ...args, config: this.#mediaConfig(rec) },
    });
  }

  /**
   * The best tab for media or ringing: one that may play sound first, then a visible one, then
   * the most recently active.
   */
  #pickMediaTab(exclude?: string): string | undefined {
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
  #mediaTabFor(tabId: string): string {
    if (this.#tabs.get(tabId)?.sound !== false) return tabId;
    const other = this.#pickMediaTab();
    return other && this.#tabs.get(other)?.sound ? other : tabId;
  }

  /** The tab that owned a call's media died: move the call or end it. */
  #mediaTabLost(rec: CallRecord): void {
    const state = rec.fsm.state;
    const next = this.#pickMediaTab(rec.info.mediaTabId);
    rec.info.mediaTabId = next;
    if (state === CallState.Incoming || state === CallState.Ended || state === CallState.Ending) {
      return;
    }
    if (!next) {
      this.#log("warn", `no tab left for ${rec.info.id}: hanging up`);
      this.#terminate(rec, "no-media-tab").catch(() => {});
      return;
    }
    if (!LIVE_STATES.includes(state)) {
      // The offer/answer was half done in the dead tab: give up on this attempt.
      this.#terminate(rec, "no-media-tab").catch(() => {});
      return;
    }
    this.#log("info", `moving media of ${rec.info.id} to tab ${next}`);
    // Chrome as far end keeps sending to the dead tab's candidate pair until that pair has
    // been silent for 2.5 s, unless data from the new connection arrives on a new pair it has
    // validated and that is nominated (as ICE-controlled agent it ranks nominated pairs by last
    // data received). So the new connection must be the DTLS client (its ClientHello is that
    // data) and, when the far end is controlled, the controlling agent:
    // - we were the DTLS client: offer from the new peer connection; the far end stays server
    //   (~0.4 s);
    // - we were the server (we placed the call): an offerless re-INVITE, so the far end offers
    //   actpass and the new connection answers as client, taking the controlling ICE role the
    //   dead one had (both would start controlled, and the role conflict costs up to ~1.5 s).
    //   Its checks must not reach the far end before our answer (in the ACK) does: Chrome
    //   prunes a peer-reflexive pair learnt that early and the move takes ~3.4 s. So it applies
    //   the offer without the far end's candidates and adds them once the answer has left
    //   (proxy_sdh.ts, media.ts). Offering instead keeps the far end the DTLS client: our new
    //   connection (server) sends no data and its ClientHellos go to the dead tab (~6.6 s).
    const wasClient = rec.sdh?.dtlsClient === true;
    rec.sdh?.rebind(wasClient ? {} : { iceControlling: true, deferRemoteCandidates: true });
    const started = Date.now();
    const moved = wasClient
      ? this.#reinvite(rec, { hold: rec.info.held, offerOptions: { iceRestart: true } })
      : this.#reinvite(rec, { hold: rec.info.held }, true);
    moved
      .then(() => {
        this.#log("info", `media of ${rec.info.id} moved in ${Date.now() - started} ms`);
        this.#queueSnapshot();
      })
      .catch((error) => {
        this.#log("warn", `moving media of ${rec.info.id} failed; hanging up`, error?.message);
        this.#terminate(rec, "no-media-tab").catch(() => {});
      });
    this.#queueSnapshot();
  }

  // ---------------------------------------------------------------- ringing

  #updateRinger(): void {
    const ringing = [...this.#calls.values()].some((r) => r.fsm.state === CallState.Incoming);
    const waiting = [...this.#calls.values()].some((r) => LIVE_STATES.includes(r.fsm.state));
    const want = ringing ? this.#pickMediaTab() : undefined;
    if (want === this.#ringerTabId && waiting === this.#ringingWaiting) return;
    if (this.#ringerTabId && this.#ringerTabId !== want) {
      this.#tabs.get(this.#ringerTabId)?.link.send({ t: "ring", on: false });
    }
    this.#ringerTabId = want;
    this.#ringingWaiting = waiting;
    if (want) this.#tabs.get(want)?.link.send({ t: "ring", on: true, waiting });
  }

  // ---------------------------------------------------------------- journal

  #journal(rec: CallRecord, phase: JournalEntry["phase"]): void {
    const info = rec.info;
    const entry: JournalEntry = {
      entryId: newId("j"),
      phase,
      sipCallId: info.sipCallId,
      callId: info.id,
      direction: info.direction,
      number: info.number,
      at: Date.now(),
    };
    if (phase === "start" && info.bitrixCallId) entry.bitrixCallId = info.bitrixCallId;
    if (phase === "end") {
      entry.sipStatus = info.sipStatus;
      entry.reason = info.endReason;
      entry.durationSec = info.answeredAt
        ? Math.max(0, Math.round(((info.endedAt ?? Date.now()) - info.answeredAt) / 1000))
        : 0;
    }
    this.#outbox.push({ entry });
    if (this.#outbox.length > JOURNAL_OUTBOX_LIMIT) this.#outbox.shift();
    this.#flushJournal();
  }

  #flushJournal(): void {
    const now = Date.now();
    const subscribers = [...this.#tabs.entries()].filter(([, t]) => t.journal);
    if (subscribers.length === 0) return;
    // One stable reporter: the oldest subscribed tab (a call's events stay together).
    const fallback = subscribers.sort((a, b) => a[1].activeAt - b[1].activeAt)[0][0];
    let delayed = false;
    for (const item of this.#outbox) {
      if (item.sentTo) continue;
      if (item.retryAt && item.retryAt > now) {
        delayed = true;
        continue;
      }
      const target = fallback;
      item.sentTo = target;
      item.retryAt = undefined;
      this.#tabs.get(target)!.link.send({ t: "journal", entry: item.entry });
    }
    if (delayed) this.#scheduleJournalRetry(5000);
  }

  #scheduleJournalRetry(ms: number): void {
    if (this.#journalTimer) return;
    this.#journalTimer = setTimeout(() => {
      this.#journalTimer = undefined;
      this.#flushJournal();
    }, ms);
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
