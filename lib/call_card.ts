/**
 * Drives Bitrix24's own call card from the background worker page: card events
 * (`BackgroundCallCard::*`) become phone commands, phone state becomes card commands
 * (`CallCardSet*`). Framework-free; the page wires it to b24jssdk's placement API and to the
 * phone client.
 *
 * ```
 *  card: initialized (outgoing, click-to-call) ──claim dial lock──▶ phone.call(number)
 *  card: initialized (incoming)                ──CALL_ID → SIP Call-ID──▶ bind to the ringing call
 *  card: answer / hangup / mute / hold / dialpad / transfer ──▶ phone.answer / hangup / … (bound call)
 *        (transfer: a colleague's user id → their SIP address, a phone number → itself)
 *  phone: dialing|ringing ─▶ connectingOutgoing   incoming ─▶ incoming   connecting ─▶ connectingIncoming
 *         connected|held ─▶ connected (+ timer, hold/mute mirrored)
 *         ended ─▶ timer off; unanswered incoming: close; otherwise idle + "ended"
 * ```
 *
 * Every worker frame of a tab receives the card's events, and every tab has worker frames: the
 * frame that is not a slider copy drives its tab's card, and acting on a call (dial, answer)
 * needs a browser-wide claim, so exactly one page dials or answers.
 *
 * @module
 */
import type { CallInfo, PhoneSnapshot } from "./phone/types.ts";
import { CallState } from "./phone/call_state.ts";
import type { Emitter } from "./phone/emitter.ts";

/** The part of the phone client the card needs. */
export interface CardPhone {
  readonly state: PhoneSnapshot;
  readonly stateChange: Emitter<PhoneSnapshot>;
  call(number: string): Promise<CallInfo>;
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
  /** Sends a `CallCard*` command. */
  command(name: string, params?: Record<string, unknown>): Promise<unknown>;
  /** Subscribes to `BackgroundCallCard::<name>`. */
  on(name: string, callback: (data: unknown) => void): void;
}

/** What the bridge needs from its page. */
export interface CardBridgeOptions {
  phone: CardPhone;
  card: CardPort;
  /** The SIP Call-ID of the call Bitrix24 knows as `bitrixCallId` (asks the journal). */
  lookupSipCallId(bitrixCallId: string): Promise<string | undefined>;
  /**
   * The address to transfer to: Bitrix24's card gives a colleague's user id (a number) or a
   * phone number (a string).
   */
  transferTarget(target: number | string): Promise<string>;
  /** Claims `key` for this page browser-wide; resolves a release function, or undefined. */
  claim(key: string): Promise<(() => void) | undefined>;
  /** Texts for the card's status line. */
  text(key: "stateConnected" | "stateHeld" | "stateEnded"): string;
  /** Called when something fails (for the page's log). */
  onError?(error: unknown): void;
}

interface Binding {
  bitrixCallId: string;
  callId?: string;
  ui?: string;
  muted?: boolean;
  held?: boolean;
  timer?: boolean;
  done?: boolean;
}

interface InitializedEvent {
  CALL_ID?: string;
  PHONE_NUMBER?: string;
  CALL_DIRECTION?: string;
  CALL_STATE?: string;
}

const UI_BY_STATE: Partial<Record<CallState, string>> = {
  [CallState.Dialing]: "connectingOutgoing",
  [CallState.Ringing]: "connectingOutgoing",
  [CallState.Incoming]: "incoming",
  [CallState.Connecting]: "connectingIncoming",
  [CallState.Connected]: "connected",
  [CallState.Held]: "connected",
};

/** Connects one page's card to the phone. */
export class CallCardBridge {
  private current?: Binding;

  constructor(private readonly o: CardBridgeOptions) {}

  /** Binds the card events (once per page load: Bitrix24 has no unbind) and follows the phone. */
  start(): void {
    const { card, phone } = this.o;
    card.on("initialized", (data) => this.guard(this.onInitialized(data as InitializedEvent)));
    card.on("answerButtonClick", () => this.guard(this.act("answer", (id) => phone.answer(id))));
    card.on(
      "hangupButtonClick",
      () =>
        this.guard(
          this.withCall((call) =>
            call.state === CallState.Incoming ? phone.reject(call.id, 603) : phone.hangup(call.id)
          ),
        ),
    );
    card.on(
      "muteButtonClick",
      (on) =>
        this.guard(this.withCall((call) => phone.mute(call.id, on === true || on === "true"))),
    );
    card.on(
      "holdButtonClick",
      (on) =>
        this.guard(this.withCall((call) => phone.hold(call.id, on === true || on === "true"))),
    );
    card.on(
      "dialpadButtonClick",
      (key) => this.guard(this.withCall((call) => phone.dtmf(call.id, String(key)))),
    );
    card.on("transferButtonClick", (data) => {
      // `phoneNumber` is the far party's; `target` is where the call goes.
      const { target } = (data ?? {}) as { target?: number | string };
      if (target === undefined || target === "") return;
      this.guard(
        this.withCall(async (call) => phone.transfer(call.id, await this.o.transferTarget(target))),
      );
    });
    phone.stateChange.addListener((snapshot) => this.guard(this.reflect(snapshot)));
  }

  private async onInitialized(event: InitializedEvent): Promise<void> {
    if (!event.CALL_ID) return;
    const binding: Binding = { bitrixCallId: event.CALL_ID };
    this.current = binding;
    const incoming = /^in/i.test(event.CALL_DIRECTION ?? "");
    if (!incoming) {
      const number = event.PHONE_NUMBER ?? "";
      if (!number) return;
      const release = await this.o.claim(`dial:${event.CALL_ID}`);
      if (release) {
        const call = await this.o.phone.call(number);
        binding.callId = call.id;
        this.releaseWhenEnded(call.id, release);
      }
      return this.reflect(this.o.phone.state);
    }
    // An incoming call: the card was raised by the journal's register; find its SIP dialog.
    for (let attempt = 0; attempt < 5 && !binding.callId; attempt++) {
      const sipCallId = await this.o.lookupSipCallId(event.CALL_ID);
      binding.callId = this.o.phone.state.calls.find((c) => c.sipCallId === sipCallId)?.id;
      if (!binding.callId) await new Promise((r) => setTimeout(r, 300 * (attempt + 1)));
    }
    await this.reflect(this.o.phone.state);
  }

  /** The bound call, or — for a card opened before the bind completed — the matching live call. */
  private boundCall(): CallInfo | undefined {
    const b = this.current;
    if (!b) return undefined;
    const calls = this.o.phone.state.calls;
    if (!b.callId) {
      // A click-to-call dialled by another page of this browser: follow the live outbound call.
      b.callId = calls.find((c) => c.direction === "outbound" && c.state !== CallState.Ended)?.id;
    }
    return calls.find((c) => c.id === b.callId);
  }

  private async withCall(fn: (call: CallInfo) => Promise<unknown>): Promise<void> {
    const call = this.boundCall();
    if (call) await fn(call);
  }

  /** Runs an action on the bound call from exactly one page of the browser. */
  private async act(name: string, fn: (callId: string) => Promise<unknown>): Promise<void> {
    const call = this.boundCall();
    if (!call) return;
    const release = await this.o.claim(`${name}:${call.sipCallId}`);
    if (!release) return;
    try {
      await fn(call.id);
    } finally {
      this.releaseWhenEnded(call.id, release);
    }
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

  /** Mirrors the bound call's state onto the card. */
  private async reflect(snapshot: PhoneSnapshot): Promise<void> {
    const b = this.current;
    if (!b || b.done) return;
    const call = b.callId ? snapshot.calls.find((c) => c.id === b.callId) : this.boundCall();
    if (!call) return;
    const { card, text } = this.o;
    if (call.state === CallState.Ended) {
      b.done = true;
      if (b.timer) await card.command("CallCardStopTimer");
      if (call.direction === "inbound" && !call.answeredAt) {
        await card.command("CallCardClose");
      } else {
        // Idle: the card keeps the call's CRM form and offers Close (and redial).
        await card.command("CallCardSetUiState", { uiState: "idle" });
        await card.command("CallCardSetStatusText", { statusText: text("stateEnded") });
      }
      return;
    }
    const ui = UI_BY_STATE[call.state];
    if (ui && ui !== b.ui) {
      b.ui = ui;
      await card.command("CallCardSetUiState", { uiState: ui });
      if (ui === "connected") {
        await card.command("CallCardSetStatusText", { statusText: text("stateConnected") });
      }
    }
    if (ui === "connected" && !b.timer) {
      b.timer = true;
      await card.command("CallCardStartTimer");
    }
    if (call.muted !== (b.muted ?? false)) {
      b.muted = call.muted;
      await card.command("CallCardSetMute", { muted: call.muted });
    }
    if (call.held !== (b.held ?? false)) {
      b.held = call.held;
      await card.command("CallCardSetHold", { held: call.held });
      await card.command("CallCardSetStatusText", {
        statusText: text(call.held ? "stateHeld" : "stateConnected"),
      });
    }
  }

  private guard(work: Promise<unknown>): void {
    work.catch((err) => this.o.onError?.(err));
  }
}
