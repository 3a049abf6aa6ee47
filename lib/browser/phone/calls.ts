/**
 * The calls: one record per SIP.js session with its guarded state machine
 * (`call_state.ts`), placing, answering, rejecting and ending calls, hold (re-INVITE), mute,
 * DTMF (RFC 4733 in the media tab, SIP INFO fallback), received INFO DTMF, ICE restarts and
 * the journal events of each call. Media work goes through {@link CallMedia}; transfers are in
 * `transfer.ts`, which this module reaches only through {@link CallsOptions.onRefer}.
 *
 * @module
 */
import {
  type Info,
  type Invitation,
  Inviter,
  type Referral,
  type Session,
  SessionState,
  UserAgent,
} from "sip.js";
import { CALL_EDGES, CallState, LIVE_STATES } from "./call_state.ts";
import type { Clock } from "./clock.ts";
import { newId } from "./ids.ts";
import type { MediaOp } from "./protocol.ts";
import type { ProxySessionDescriptionHandler } from "./proxy_sdh.ts";
import type { SipConnection } from "./sip_connection.ts";
import { StateMachine } from "./state_machine.ts";
import type { Tabs } from "./tabs.ts";
import {
  type CallEndReason,
  type CallInfo,
  type DtmfMode,
  type JournalEntry,
  type Log,
  PhoneError,
} from "./types.ts";

/** One call: its public info, state machine and SIP.js session. */
export interface CallRecord {
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

/** The media tab of a call, as the calls reach it (see `media_routing.ts`). */
export interface CallMedia {
  /** Runs `op` on the call's media tab and waits for its answer. */
  request(
    rec: CallRecord,
    op: MediaOp,
    sdhId: string,
    args: Record<string, unknown>,
  ): Promise<unknown>;
  /** Sends `op` to the call's media tab without waiting. */
  notify(rec: CallRecord, op: MediaOp, sdhId: string, args: Record<string, unknown>): void;
}

/** Options of {@link Calls}. */
export interface CallsOptions {
  clock: Clock;
  /** Jitter source for glare retries, in [0, 1). */
  random: () => number;
  log: Log;
  sip: Pick<SipConnection, "requireUserAgent" | "account" | "connection">;
  tabs: Pick<Tabs, "mediaTabFor" | "broadcast">;
  media: CallMedia;
  /** Records a journal event of a call. */
  journal(info: CallInfo, phase: JournalEntry["phase"]): void;
  /** The far party asked us to call someone else (we are the transferee). */
  onRefer(rec: CallRecord, referral: Referral): void;
  /** Some call changed (snapshot and ringer are due). */
  onChange(): void;
}

const DTMF_TONES = /^[0-9A-D#*]+$/i;
/** Shortest time between two ICE restarts of one call, ms. */
const ICE_RESTART_INTERVAL_MS = 10_000;
/** How long an ended call stays in snapshots, ms. */
const ENDED_LINGER_MS = 5000;
/** Session-description handler options of every call (a fresh object each): audio, no video. */
export function audioOnly() {
  return { constraints: { audio: true, video: false } };
}

/**
 * The accept/reject callbacks of a SIP.js request delegate that settle a promise: resolved on a
 * 2xx, rejected with a `request-failed` PhoneError naming `method` and the status otherwise.
 */
export function settleOnAnswer(
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

/**
 * The SIP URI to dial for `number`: a SIP URI as is, `user@host` with `sip:`, anything else
 * (punctuation dropped) at the domain of `accountSipUri`.
 */
export function targetUri(
  number: string,
  accountSipUri: string,
): NonNullable<ReturnType<typeof UserAgent.makeURI>> {
  const domain = UserAgent.makeURI(accountSipUri)!.host;
  const trimmed = number.trim();
  let text: string;
  if (/^sips?:/i.test(trimmed)) text = trimmed;
  else if (trimmed.includes("@")) text = `sip:${trimmed}`;
  else text = `sip:${trimmed.replace(/[\s().-]/g, "")}@${domain}`;
  const uri = UserAgent.makeURI(text);
  if (!uri) throw new PhoneError("invalid-state", `cannot dial "${number}"`);
  return uri;
}

/**
 * The party a `Referred-By` header names (`"Anna" <sip:1001@pbx>` → `Anna`, `<sip:1001@pbx>` →
 * `1001`), or undefined without one.
 */
export function referrerOf(header: string | undefined): string | undefined {
  if (!header?.trim()) return undefined;
  const name = header.match(/^\s*"([^"]+)"/)?.[1] ?? header.match(/^\s*([^<"]+?)\s*</)?.[1];
  if (name?.trim()) return name.trim();
  const user = header.match(/sips?:([^@;>\s]+)/i)?.[1];
  return user ? decodeURIComponent(user) : header.trim();
}

/** Throws `invalid-state` unless the call is connected or held. */
export function assertLive(rec: CallRecord): void {
  if (!LIVE_STATES.includes(rec.fsm.state)) {
    throw new PhoneError("invalid-state", `call ${rec.info.id} is ${rec.fsm.state}`);
  }
}

/** Every call of the engine, by id and by SIP.js session. */
export class Calls {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Log;
  readonly #sip: CallsOptions["sip"];
  readonly #tabs: CallsOptions["tabs"];
  readonly #media: CallMedia;
  readonly #journal: CallsOptions["journal"];
  readonly #onRefer: CallsOptions["onRefer"];
  readonly #onChange: () => void;
  readonly #calls = new Map<string, CallRecord>();
  readonly #bySession = new WeakMap<Session, CallRecord>();

  constructor(options: CallsOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#log = options.log;
    this.#sip = options.sip;
    this.#tabs = options.tabs;
    this.#media = options.media;
    this.#journal = options.journal;
    this.#onRefer = options.onRefer;
    this.#onChange = options.onChange;
  }

  /** Every record, ended ones included until they are forgotten. */
  get records(): CallRecord[] {
    return [...this.#calls.values()];
  }

  /** Some call is incoming (ringing here). */
  get ringing(): boolean {
    return this.records.some((r) => r.fsm.state === CallState.Incoming);
  }

  /** Some call is connected or held. */
  get anyLive(): boolean {
    return this.records.some((r) => LIVE_STATES.includes(r.fsm.state));
  }

  /** The record of a session, if it is one of ours. */
  bySession(session: Session): CallRecord | undefined {
    return this.#bySession.get(session);
  }

  /** The call `callId`; throws `no-such-call` when it is unknown or has ended. */
  get(callId: string): CallRecord {
    const rec = this.#calls.get(callId);
    if (!rec || rec.fsm.state === CallState.Ended) {
      throw new PhoneError("no-such-call", `no call ${callId}`);
    }
    return rec;
  }

  /** Ends every call (before the UserAgent goes). */
  async endAll(): Promise<void> {
    for (const rec of this.records) {
      if (rec.fsm.state !== CallState.Ended) {
        await this.terminate(rec, "local-hangup").catch(() => {});
      }
    }
  }

  /** Starts tracking a new session (its journal start is recorded at once). */
  newRecord(
    session: Session,
    direction: "inbound" | "outbound",
    number: string,
    state: CallState,
    mediaTabId: string | undefined,
    extra: Partial<CallInfo> = {},
  ): CallRecord {
    const now = this.#clock.now();
    const sipCallId = (session as Inviter | Invitation).request.callId;
    const info: CallInfo = {
      id: newId("call", now),
      sipCallId,
      direction,
      number,
      state,
      muted: false,
      held: false,
      remoteHeld: false,
      mediaTabId,
      startedAt: now,
      ...extra,
    };
    const fsm = new StateMachine<CallState>(`call ${info.id}`, state, CALL_EDGES);
    const rec: CallRecord = { info, fsm, session, reinvites: Promise.resolve() };
    fsm.stateChange.addListener(({ to }) => {
      rec.info.state = to;
      this.#onChange();
    });
    this.#calls.set(info.id, rec);
    this.#bySession.set(session, rec);
    session.stateChange.addListener((s) => this.#onSessionState(rec, s));
    session.delegate = {
      onInfo: (info) => this.#onInfo(rec, info),
      onRefer: (referral) => this.#onRefer(rec, referral),
      onInvite: () => this.#onChange(),
    };
    this.#journal(rec.info, "start");
    this.#onChange();
    return rec;
  }

  #onSessionState(rec: CallRecord, state: SessionState): void {
    if (state === SessionState.Established) {
      if (!LIVE_STATES.includes(rec.fsm.state) && rec.fsm.can(CallState.Connected)) {
        rec.info.answeredAt = this.#clock.now();
        rec.info.sipStatus = 200;
        rec.fsm.transition(CallState.Connected);
        this.#journal(rec.info, "answer");
      }
    } else if (state === SessionState.Terminated) {
      // SIP.js reports Terminated before its request delegate sees the final response.
      this.#clock.setTimeout(() => this.#ended(rec), 0);
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
    rec.info.endedAt = this.#clock.now();
    rec.fsm.transition(CallState.Ended);
    this.#journal(rec.info, "end");
    // Keep ended calls briefly so every tab sees the final state, then forget them.
    this.#clock.setTimeout(() => {
      this.#calls.delete(rec.info.id);
      this.#onChange();
    }, ENDED_LINGER_MS);
  }

  /**
   * Places a call from `tabId` (which will own its media). Resolves once the INVITE is sent.
   * `bitrixCallId` (a click-to-call's card) goes into the call's info and its journal start.
   */
  call(number: string, tabId: string, bitrixCallId?: string): Promise<CallInfo> {
    const ua = this.#sip.requireUserAgent();
    if (!number.trim()) throw new PhoneError("invalid-state", "empty number");
    const target = this.target(number);
    const inviter = new Inviter(ua, target, { sessionDescriptionHandlerOptions: audioOnly() });
    const rec = this.newRecord(
      inviter,
      "outbound",
      target.user ?? number,
      CallState.Dialing,
      this.#tabs.mediaTabFor(tabId),
      bitrixCallId ? { bitrixCallId } : {},
    );
    this.sendInvite(rec, inviter);
    return Promise.resolve({ ...rec.info });
  }

  /** The SIP URI for `number` in the account's domain. */
  target(number: string): NonNullable<ReturnType<typeof UserAgent.makeURI>> {
    return targetUri(number, this.#sip.account!.sipUri);
  }

  /** Sends the INVITE of an outgoing call and follows its progress. */
  sendInvite(rec: CallRecord, inviter: Inviter): void {
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

  /** A new incoming INVITE; one with Replaces is accepted at once in the replaced call's tab. */
  onInvite(invitation: Invitation): void {
    const remote = invitation.remoteIdentity;
    const replaced = invitation.replacee ? this.#bySession.get(invitation.replacee) : undefined;
    const rec = this.newRecord(
      invitation,
      "inbound",
      remote.uri.user ?? remote.uri.toString(),
      CallState.Incoming,
      replaced?.info.mediaTabId,
      {
        displayName: remote.displayName || undefined,
        transferredFrom: referrerOf(invitation.request.getHeader("Referred-By")),
      },
    );
    if (replaced) {
      // Attended transfer towards us: the new dialog replaces a call we already have.
      replaced.endHint = "replaced";
      rec.fsm.transition(CallState.Connecting);
      invitation.accept({ sessionDescriptionHandlerOptions: audioOnly() })
        .catch((e) => this.#log("warn", "accepting a replacing INVITE failed", e?.message));
    }
  }

  /** Answers an incoming call; `tabId` owns its media. Other live calls are held first. */
  async answer(callId: string, tabId: string, holdOthers: boolean): Promise<CallInfo> {
    const rec = this.get(callId);
    if (rec.fsm.state !== CallState.Incoming) {
      throw new PhoneError("invalid-state", `call ${callId} is ${rec.fsm.state}, not incoming`);
    }
    rec.info.mediaTabId = this.#tabs.mediaTabFor(tabId);
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
      await (rec.session as Invitation).accept({ sessionDescriptionHandlerOptions: audioOnly() });
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
    const rec = this.get(callId);
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
    const rec = this.get(callId);
    await this.terminate(rec, "local-hangup");
    return { ...rec.info };
  }

  /** Ends a call for `reason` (an incoming one is declined with 603). */
  async terminate(rec: CallRecord, reason: CallEndReason): Promise<void> {
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
    const rec = this.get(callId);
    rec.info.muted = on;
    if (rec.sdh && rec.info.mediaTabId) {
      this.#media.notify(rec, "mute", rec.sdh.sdhId, { on });
    }
    this.#onChange();
    return Promise.resolve({ ...rec.info });
  }

  /** Holds or resumes a call by re-INVITE (sendonly / sendrecv). */
  async hold(callId: string, on: boolean): Promise<CallInfo> {
    const rec = this.get(callId);
    assertLive(rec);
    if (rec.info.held === on) return { ...rec.info };
    await this.reinvite(rec, { hold: on });
    rec.info.held = on;
    rec.fsm.tryTransition(on ? CallState.Held : CallState.Connected);
    this.#onChange();
    return { ...rec.info };
  }

  /**
   * Sends a re-INVITE (an offerless one with `withoutSdp`), after any still pending; resolves on
   * its 2xx.
   */
  reinvite(
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
          sessionDescriptionHandlerOptions: { ...audioOnly(), ...sdhOptions },
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
    const rec = this.get(callId);
    assertLive(rec);
    if (!DTMF_TONES.test(tones)) throw new PhoneError("invalid-state", `bad DTMF "${tones}"`);
    if (mode !== "info" && rec.sdh) {
      const sent = await this.#media.request(rec, "dtmf", rec.sdh.sdhId, { tones });
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
    this.#tabs.broadcast({ t: "dtmf", event: { callId: rec.info.id, tone, via: "info" } });
  }

  /** The media tab reports the ICE state of a call's current peer connection. */
  iceStateChanged(callId: string, sdhId: string, state: RTCIceConnectionState): void {
    const rec = this.#calls.get(callId);
    if (!rec || rec.sdh?.sdhId !== sdhId) return;
    if (state === "failed") this.restartIce(rec, "ICE failed");
  }

  /**
   * After a reconnect media may be dead too: restart ICE where it is not connected. (Where it
   * still is, the far end keeps the call; an ICE failure later restarts it.)
   */
  checkIceAfterReconnect(): void {
    for (const rec of this.#calls.values()) {
      if (!LIVE_STATES.includes(rec.fsm.state) || !rec.sdh) continue;
      this.#media.request(rec, "iceState", rec.sdh.sdhId, {}).then((state) => {
        if (state !== "connected" && state !== "completed") this.restartIce(rec, `ICE ${state}`);
      }).catch(() => {});
    }
  }

  /** ICE restart by re-INVITE (once per 10 s per call); retried once after glare (491). */
  restartIce(rec: CallRecord, why: string, retry = true): void {
    if (!LIVE_STATES.includes(rec.fsm.state) || this.#sip.connection !== "connected") return;
    const now = this.#clock.now();
    if (retry && rec.iceRestartAt && now - rec.iceRestartAt < ICE_RESTART_INTERVAL_MS) return;
    rec.iceRestartAt = now;
    this.#log("info", `restarting ICE of ${rec.info.id} (${why})`);
    this.reinvite(rec, { hold: rec.info.held, offerOptions: { iceRestart: true } })
      .catch((e) => {
        this.#log("warn", `ICE restart of ${rec.info.id} failed`, e?.message);
        const status = (e as PhoneError)?.sipStatus;
        if (retry && (status === 491 || status === 500)) {
          this.#clock.setTimeout(
            () => this.restartIce(rec, "retry after glare", false),
            1000 + this.#random() * 1500,
          );
        }
      });
  }
}
