/**
 * Drives Bitrix24's own call card from the background worker page: card events
 * (`BackgroundCallCard::*`) become phone commands, phone state becomes card commands
 * (`CallCardSet*`). Framework-free; the page wires it to b24jssdk's placement API and to the
 * phone client.
 *
 * Bitrix24 raises the card for every call registered with `SHOW` (the journal registers the
 * phone's own calls, transfers included) and for CRM click-to-calls, and an outgoing card says
 * `initialized` the same way in both cases. So an outgoing card is first matched to a call that
 * exists; only a click-to-call nobody dialled yet is dialled, once per browser:
 *
 * ```
 *  initialized (outgoing) ─▶ a live call dialled for this CALL_ID? ──yes──▶ bind
 *                            └▶ journal row for CALL_ID (retried while the event or the
 *                               register answer is on its way):
 *                                 the phone's own call (a SIP Call-ID) ──▶ bind to it
 *                                 an undialled click-to-call ──claim──▶ phone.call(number, CALL_ID)
 *                                 nothing after ~8 s (the event was lost) ──▶ dial as above
 *  initialized (incoming) ─▶ journal row for CALL_ID ─▶ bind to the ringing call
 *  answer ─▶ answer   skip (Busy) ─▶ reject 486   hangup ─▶ hang up (reject 486 while ringing)
 *  close (card dismissed) ─▶ end a live bound call, then stop driving the card
 *  mute / hold / dialpad / transfer ─▶ the bound call (transfer: see {@link CardBridgeOptions})
 *  phone: dialing|ringing ─▶ connectingOutgoing   incoming ─▶ incoming
 *         connecting ─▶ connectingIncoming   connected|held ─▶ connected (starts the card's timer)
 *         ended ─▶ unanswered incoming: close; otherwise idle + "ended"
 * ```
 *
 * `telephony.externalcall.finish` closes the card by itself, so commands after it may answer
 * "Call card is undefined": that ends the binding quietly. `CallCardStartTimer`/`StopTimer` never
 * answer in the browser (the SDK gives up after ~900 ms), so they are never awaited.
 *
 * Every worker frame of a tab receives the card's events; the page makes sure only the frame that
 * is not a slider copy runs a bridge, and dialling or answering needs a browser-wide claim.
 *
 * @module
 */
import type { CallInfo, PhoneSnapshot } from "./phone/types.ts";
import { CallState } from "./phone/call_state.ts";
import type { Emitter } from "./phone/emitter.ts";
import { normalizeNumber } from "../shared/dial.ts";

/** The part of the phone client the card needs. */
export interface CardPhone {
  readonly state: PhoneSnapshot;
  readonly stateChange: Emitter<PhoneSnapshot>;
  call(number: string, options?: { bitrixCallId?: string }): Promise<CallInfo>;
  answer(callId: string): Promise<CallInfo>;
  reject(callId: string, code?: number): Promise<CallInfo>;
  hangup(callId: string): Promise<CallInfo>;
  mute(callId: string, on?: boolean): Promise<CallInfo>;
  hold(callId: string, on?: boolean): Promise<CallInfo>;
  dtmf(callId: string, tones: string): Promise<unknown>;
  transfer(callId: string, target: string): Promise<CallInfo>;
}

/** Bitrix24's card as the placement API exposes it. */
export interface CardPort {
  /** Sends a `CallCard*` command; resolves with the card's answer. */
  command(name: string, params?: Record<string, unknown>): Promise<unknown>;
  /** Subscribes to `BackgroundCallCard::<name>`. */
  on(name: string, callback: (data: unknown) => void): void;
}

/** What the journal knows of a call Bitrix24 knows as a CALL_ID. */
export interface JournalCall {
  /** The SIP Call-ID, or `bitrix24:<CALL_ID>` for a click-to-call no phone has dialled yet. */
  sipCallId: string;
}

/** What the bridge needs from its page. */
export interface CardBridgeOptions {
  phone: CardPhone;
  card: CardPort;
  /** The journal's call for a Bitrix24 CALL_ID (of this user), if any. */
  findCall(bitrixCallId: string): Promise<JournalCall | undefined>;
  /** A colleague's SIP address by their Bitrix24 user id, if they have a SIP account. */
  colleagueAddress(userId: number): Promise<string | undefined>;
  /** Claims `key` for this page browser-wide; resolves a release function, or undefined. */
  claim(key: string): Promise<(() => void) | undefined>;
  /** Texts for the card's status line. */
  text(key: "stateConnected" | "stateHeld" | "stateEnded" | "soundBlocked"): string;
  /** Pauses before asking the journal again (default 300 ms, 600 ms, … ~8 s in all). */
  retryDelaysMs?: number[];
  /** Called when something fails (for the page's log). */
  onError?(error: unknown): void;
}

interface Binding {
  bitrixCallId: string;
  outgoing: boolean;
  number: string;
  callId?: string;
  ui?: string;
  muted?: boolean;
  held?: boolean;
  /** The call ended and the card was told. */
  done?: boolean;
  /** The card is gone (closed by the user, by `finish`, or it answered "undefined"). */
  closed?: boolean;
  /** The card says that no page can play sound. */
  silent?: boolean;
}

interface InitializedEvent {
  CALL_ID?: string;
  PHONE_NUMBER?: string;
  CALL_DIRECTION?: string;
}

const UI_BY_STATE: Partial<Record<CallState, string>> = {
  [CallState.Dialing]: "connectingOutgoing",
  [CallState.Ringing]: "connectingOutgoing",
  [CallState.Incoming]: "incoming",
  [CallState.Connecting]: "connectingIncoming",
  [CallState.Connected]: "connected",
  [CallState.Held]: "connected",
};

const DEFAULT_RETRY_MS = [300, 600, 900, 1200, 1500, 1800, 2000];
const PLACEHOLDER = "bitrix24:";
const CARD_UNDEFINED = /call card is undefined/i;

/** Whether a card's answer (or the SDK's rejection) says the card no longer exists. */
export function cardIsGone(answer: unknown): boolean {
  if (answer instanceof Error) return CARD_UNDEFINED.test(answer.message);
  const items = Array.isArray(answer) ? answer : [answer];
  return items.some((item) =>
    item !== null && typeof item === "object" &&
    CARD_UNDEFINED.test(String((item as { errorCode?: unknown }).errorCode ?? ""))
  );
}

/**
 * Where a transfer from the card goes. The card's `target` comes in three forms (CORE
 * `voximplant/phone-calls/src/view/view.js`, `getDialogConfigForBackgroundApp` and
 * `showTransferToUserMenu`): a colleague without phones in the profile is passed as the entity
 * selector's id, a number; a colleague with phones opens a menu whose items hand over their
 * `dataset.target`, always a string: the user id for "internal call", or the profile phone as
 * typed for a phone item. The menu drops the item's `type`, so the rule is by format: a number
 * is a user id; a string of 1–9 digits without a leading zero is the string form of one when that
 * colleague has a SIP account (else the digits are dialled, as an extension would be); anything
 * else is a phone number, dialled in its normalised form.
 */
export async function transferAddress(
  target: number | string,
  colleagueAddress: (userId: number) => Promise<string | undefined>,
): Promise<string> {
  if (typeof target === "number") {
    const address = Number.isInteger(target) && target > 0
      ? await colleagueAddress(target)
      : undefined;
    if (!address) throw new Error(`colleague ${target} has no SIP account to transfer to`);
    return address;
  }
  const text = target.trim();
  if (/^[1-9]\d{0,8}$/.test(text)) {
    const address = await colleagueAddress(Number(text));
    if (address) return address;
  }
  const number = normalizeNumber(text);
  if (!number) throw new Error("empty transfer target");
  return number;
}

/**
 * Whether this worker frame is a copy loaded inside a slider: Bitrix24 loads the background
 * worker on every page, sliders included, with `PLACEMENT_OPTIONS` `{ID, URI}` where `URI` is the
 * page's request URI (CORE `intranet.placement/class.php`); slider pages carry `IFRAME=Y`. The
 * SDK's `isSliderMode` reads `PLACEMENT_OPTIONS.IFRAME`, which this placement never has.
 */
export function isSliderCopy(placementOptions: unknown): boolean {
  const uri = (placementOptions as { URI?: unknown } | null | undefined)?.URI;
  if (typeof uri !== "string" || !uri.includes("?")) return false;
  return new URLSearchParams(uri.slice(uri.indexOf("?") + 1)).get("IFRAME")?.toUpperCase() === "Y";
}

function isLive(call: CallInfo): boolean {
  return call.state !== CallState.Ended;
}

/** Connects one page's card to the phone. */
export class CallCardBridge {
  private current?: Binding;

  constructor(private readonly o: CardBridgeOptions) {}

  /** Binds the card events (once per page load: Bitrix24 has no unbind) and follows the phone. */
  start(): void {
    const { card, phone } = this.o;
    const on = (name: string, handler: (data: unknown) => Promise<unknown> | void) =>
      card.on(name, (data) => this.guard(Promise.resolve().then(() => handler(data))));
    on("initialized", (data) => this.onInitialized(data as InitializedEvent));
    on("answerButtonClick", () => this.claimed("answer", (call) => phone.answer(call.id)));
    on("skipButtonClick", () => this.claimed("reject", (call) => this.end(call)));
    on("hangupButtonClick", () => this.withCall((call) => this.end(call)));
    on("closeButtonClick", async () => {
      const b = this.current;
      if (!b) return;
      b.closed = true;
      const call = this.boundCall();
      if (call && isLive(call)) await this.end(call);
    });
    on("muteButtonClick", (v) => this.withCall((call) => phone.mute(call.id, flag(v))));
    on("holdButtonClick", (v) => this.withCall((call) => phone.hold(call.id, flag(v))));
    on("dialpadButtonClick", (key) => this.withCall((call) => phone.dtmf(call.id, String(key))));
    on("transferButtonClick", (data) => {
      // `phoneNumber` is the far party's; `target` is where the call goes.
      const { target } = (data ?? {}) as { target?: number | string };
      if (target === undefined || target === "") return;
      return this.withCall(async (call) =>
        phone.transfer(call.id, await transferAddress(target, this.o.colleagueAddress))
      );
    });
    phone.stateChange.addListener((snapshot) => this.guard(this.reflect(snapshot)));
  }

  private async onInitialized(event: InitializedEvent): Promise<void> {
    if (!event.CALL_ID) return;
    const binding: Binding = {
      bitrixCallId: event.CALL_ID,
      outgoing: !/^in/i.test(event.CALL_DIRECTION ?? ""),
      number: event.PHONE_NUMBER ?? "",
    };
    this.current = binding;
    const delays = this.o.retryDelaysMs ?? DEFAULT_RETRY_MS;
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (this.current !== binding) return;
      if (this.bindLocal(binding)) break;
      const row = await this.o.findCall(binding.bitrixCallId).catch(() => undefined);
      if (row && !row.sipCallId.startsWith(PLACEHOLDER)) {
        // The phone's own call (or a transfer's): follow it wherever it lives.
        binding.callId = this.o.phone.state.calls.find((c) => c.sipCallId === row.sipCallId)?.id;
        // An outgoing one not here lives in another browser or device: nothing to drive. An
        // incoming one may not have reached this phone yet.
        if (binding.callId || binding.outgoing) break;
      } else if (row && binding.outgoing) {
        await this.dial(binding);
        break;
      }
      if (attempt === delays.length) {
        // Nothing in the journal: an outgoing card whose ONEXTERNALCALLSTART never came.
        if (binding.outgoing && !this.bindLocal(binding)) await this.dial(binding);
        break;
      }
      await new Promise((r) => setTimeout(r, delays[attempt]));
    }
    await this.reflect(this.o.phone.state);
  }

  /** Binds a live call this browser already dialled for the card's CALL_ID. */
  private bindLocal(binding: Binding): boolean {
    const call = this.o.phone.state.calls.find((c) =>
      isLive(c) && c.bitrixCallId === binding.bitrixCallId
    );
    if (call) binding.callId = call.id;
    return Boolean(call);
  }

  /** Dials a click-to-call from exactly one page of the browser. */
  private async dial(binding: Binding): Promise<void> {
    if (!binding.number) return;
    const release = await this.o.claim(`dial:${binding.bitrixCallId}`);
    if (!release) return; // another page dials; bindLocal finds its call
    try {
      const call = await this.o.phone.call(binding.number, { bitrixCallId: binding.bitrixCallId });
      binding.callId = call.id;
      this.releaseWhenEnded(call.id, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** The bound call (a click-to-call dialled by another page is found by its CALL_ID). */
  private boundCall(): CallInfo | undefined {
    const b = this.current;
    if (!b) return undefined;
    if (!b.callId) this.bindLocal(b);
    return this.o.phone.state.calls.find((c) => c.id === b.callId);
  }

  private async withCall(fn: (call: CallInfo) => Promise<unknown>): Promise<void> {
    const call = this.boundCall();
    if (call && isLive(call)) await fn(call);
  }

  /** Runs an action on the bound call from exactly one page of the browser. */
  private async claimed(name: string, fn: (call: CallInfo) => Promise<unknown>): Promise<void> {
    const call = this.boundCall();
    if (!call || !isLive(call)) return;
    const release = await this.o.claim(`${name}:${call.sipCallId}`);
    if (!release) return;
    try {
      await fn(call);
    } finally {
      this.releaseWhenEnded(call.id, release);
    }
  }

  /** Ends the call: a ringing one is rejected with 486 (Busy), so every tab stops ringing. */
  private end(call: CallInfo): Promise<unknown> {
    return call.state === CallState.Incoming
      ? this.o.phone.reject(call.id, 486)
      : this.o.phone.hangup(call.id);
  }

  private releaseWhenEnded(callId: string, release: () => void): void {
    const check = (s: PhoneSnapshot) => {
      const call = s.calls.find((c) => c.id === callId);
      if (!call || call.state === CallState.Ended) {
        release();
        this.o.phone.stateChange.removeListener(check);
      }
    };
    this.o.phone.stateChange.addListener(check);
    check(this.o.phone.state);
  }

  /** Sends a card command; a card that is gone ends the binding instead of failing. */
  private async send(b: Binding, name: string, params?: Record<string, unknown>): Promise<void> {
    if (b.closed) return;
    let answer: unknown;
    try {
      answer = await this.o.card.command(name, params);
    } catch (err) {
      if (!cardIsGone(err)) throw err;
      answer = err;
    }
    if (cardIsGone(answer)) b.closed = true;
  }

  /** Sends a command that never answers in the browser: not awaited, nothing waits for it. */
  private fire(b: Binding, name: string): void {
    if (b.closed) return;
    this.o.card.command(name).catch(() => {});
  }

  /** Mirrors the bound call's state onto the card. */
  private async reflect(snapshot: PhoneSnapshot): Promise<void> {
    const b = this.current;
    if (!b || b.done || b.closed) return;
    const call = b.callId ? snapshot.calls.find((c) => c.id === b.callId) : this.boundCall();
    if (!call) return;
    const { text } = this.o;
    if (call.state === CallState.Ended) {
      b.done = true;
      if (call.direction === "inbound" && !call.answeredAt) {
        return this.send(b, "CallCardClose");
      }
      if (b.ui === "connected") this.fire(b, "CallCardStopTimer");
      // Idle: the card keeps the call's CRM form until Bitrix24's finish closes it.
      await this.send(b, "CallCardSetUiState", { uiState: "idle" });
      await this.send(b, "CallCardSetStatusText", { statusText: text("stateEnded") });
      return;
    }
    const ui = UI_BY_STATE[call.state];
    if (ui && ui !== b.ui) {
      b.ui = ui;
      // `connected` starts the card's timer by itself (CORE base-worker.js setUiState).
      await this.send(b, "CallCardSetUiState", { uiState: ui });
      if (ui === "connected") {
        await this.send(b, "CallCardSetStatusText", { statusText: text("stateConnected") });
      }
    }
    if (call.muted !== (b.muted ?? false)) {
      b.muted = call.muted;
      await this.send(b, "CallCardSetMute", { muted: call.muted });
    }
    if (call.held !== (b.held ?? false)) {
      b.held = call.held;
      await this.send(b, "CallCardSetHold", { held: call.held });
      await this.send(b, "CallCardSetStatusText", {
        statusText: text(call.held ? "stateHeld" : "stateConnected"),
      });
    }
    // No page of this browser may play sound: nothing rings and the far party is not heard.
    if (!snapshot.canPlaySound !== (b.silent ?? false)) {
      b.silent = !snapshot.canPlaySound;
      const normal = ui === "connected" ? text(call.held ? "stateHeld" : "stateConnected") : "";
      await this.send(b, "CallCardSetStatusText", {
        statusText: b.silent ? text("soundBlocked") : normal,
      });
    }
  }

  private guard(work: Promise<unknown>): void {
    work.catch((err) => this.o.onError?.(err));
  }
}

function flag(value: unknown): boolean {
  return value === true || value === "true";
}
