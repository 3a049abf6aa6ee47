import type { ComponentChildren } from "preact";
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { formatDuration, normalizeNumber } from "../../lib/shared/dial.ts";
import type { CallInfo, PhoneClient } from "../../lib/browser/phone/client.ts";
import { type CallOutcome, isProblem, outcomeText } from "../../lib/browser/call_outcome.ts";
import type { CallerInfo } from "../../lib/shared/api/widget.ts";
import { Icon, type IconName } from "./Icon.tsx";
import { Keypad } from "./Keypad.tsx";
import type { RunCommand } from "./types.ts";

const STATE_TEXT: Record<string, TextKey> = {
  dialing: "stateDialing",
  ringing: "stateRinging",
  incoming: "stateIncoming",
  connecting: "stateConnecting",
  connected: "stateConnected",
  held: "stateHeld",
  ending: "stateEnding",
  ended: "stateEnded",
};

/** Who a caller is (the CRM), and where their responsible employee's phone is. */
export interface CallerSource {
  lookup(number: string): Promise<CallerInfo | null>;
  /** The responsible employee's address for a transfer (their SIP account, else undefined). */
  colleagueAddress(userId: number): Promise<string | undefined>;
}

/**
 * One live call. The layout never moves: who and the state on top, one row of controls, then
 * the large red hang-up (or Answer and Decline), then the keypad or transfer form when open.
 */
export function CallCard({ lang, phone, call, run, dtmf, onDtmf, callers }: {
  lang: Lang;
  phone: PhoneClient;
  call: CallInfo;
  run: RunCommand;
  /** Tones sent during this call. */
  dtmf: string;
  onDtmf: (key: string) => void;
  /** CRM look-ups of incoming callers (none: numbers only). */
  callers?: CallerSource;
}) {
  const panel = useSignal<"" | "keypad" | "transfer">("");
  const target = useSignal("");
  const now = useSignal(Date.now());
  const caller = useSignal<CallerInfo | null>(null);
  useEffect(() => {
    const timer = setInterval(() => now.value = Date.now(), 1000);
    return () => clearInterval(timer);
  }, []);
  useEffect(() => {
    // Asked while it rings, never holding the ringing up; shown when the CRM answers.
    if (call.direction !== "inbound" || !callers) return;
    let current = true;
    callers.lookup(call.number).then((found) => {
      if (current) caller.value = found;
    }, () => {});
    return () => void (current = false);
  }, [call.id]);
  const who = caller.value;
  const toResponsible = async (userId: number, inner: string | null) => {
    const address = await callers?.colleagueAddress(userId).catch(() => undefined) ??
      inner ?? undefined;
    if (address) await phone.transfer(call.id, address);
  };
  const incoming = call.state === "incoming";
  const talking = call.state === "connected" || call.state === "held";
  if (!talking && panel.value) panel.value = "";
  // Esc closes an open keypad or transfer form first; only the next Esc hangs up. (Capture:
  // this runs before the page's key handler, which skips a handled key.)
  useEffect(() => {
    if (!panel.value) return;
    const close = (e: KeyboardEvent) => {
      if (e.key !== "Escape") return;
      e.preventDefault();
      panel.value = "";
    };
    document.addEventListener("keydown", close, true);
    return () => document.removeEventListener("keydown", close, true);
  }, [panel.value]);
  const toggle = (which: "keypad" | "transfer") => panel.value = panel.value === which ? "" : which;
  return (
    <article
      class={`card call ${call.state}`}
      data-testid="call"
      data-state={call.state}
      aria-label={who?.name || call.displayName || call.number}
    >
      <CallHead
        lang={lang}
        call={call}
        who={who}
        toResponsible={who?.responsibleId
          ? {
            disabled: !talking,
            run: () => run(toResponsible(who.responsibleId!, who.responsiblePhoneInner)),
          }
          : undefined}
      >
        <div class="call-state" aria-live="polite">
          {t(lang, STATE_TEXT[call.state] ?? "stateConnected")}
          {call.answeredAt && (
            <span class="call-timer">
              {formatDuration(Math.max(0, now.value - call.answeredAt) / 1000)}
            </span>
          )}
        </div>
        {dtmf && (
          <div class="dtmf-sent">
            {t(lang, "dtmfSent")}: <span data-testid="dtmf-sent">{dtmf}</span>
          </div>
        )}
      </CallHead>
      {incoming && <p class="call-controls-space">{withKeys(t(lang, "incomingKeys"))}</p>}
      {!incoming && (
        <div class="call-controls">
          <Control
            icon={call.muted ? "mic-off" : "mic"}
            label={t(lang, "mute")}
            hint={t(lang, "muteHint")}
            pressed={call.muted}
            disabled={!talking}
            onClick={() => run(phone.mute(call.id, !call.muted))}
          />
          <Control
            icon="hold"
            label={t(lang, "hold")}
            hint={t(lang, "holdHint")}
            pressed={call.held}
            disabled={!talking}
            onClick={() => run(phone.hold(call.id, !call.held))}
          />
          <Control
            icon="keypad"
            label={t(lang, "keypad")}
            hint={t(lang, "keypadHint")}
            expanded={panel.value === "keypad"}
            disabled={!talking}
            onClick={() => toggle("keypad")}
          />
          <Control
            icon="transfer"
            label={t(lang, "transfer")}
            hint={t(lang, "transferHint")}
            expanded={panel.value === "transfer"}
            disabled={!talking}
            onClick={() => toggle("transfer")}
          />
        </div>
      )}
      <div class="call-main">
        {incoming
          ? (
            <>
              <button
                type="button"
                class="answer big"
                title={t(lang, "answerHint")}
                onClick={() => run(answerCall(phone, call.id))}
              >
                <Icon name="call" />
                {t(lang, "answer")}
              </button>
              <button
                type="button"
                class="danger big"
                title={t(lang, "declineHint")}
                onClick={() => run(phone.reject(call.id, 603))}
              >
                <Icon name="hangup" />
                {t(lang, "decline")}
              </button>
            </>
          )
          : (
            <button
              type="button"
              class="danger big hangup"
              data-testid="hangup"
              title={t(lang, "hangupHint")}
              disabled={call.state === "ending"}
              onClick={() => run(phone.hangup(call.id))}
            >
              <Icon name="hangup" />
              {t(lang, "hangup")}
            </button>
          )}
      </div>
      {panel.value === "keypad" && <Keypad onKey={onDtmf} />}
      {panel.value === "transfer" && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const to = normalizeNumber(target.value);
            if (to) run(phone.transfer(call.id, to));
          }}
        >
          <label class="field">
            <span>{t(lang, "transferTo")}</span>
            <input
              type="tel"
              value={target}
              autoFocus
              onInput={(e) => target.value = (e.target as HTMLInputElement).value}
            />
          </label>
          <button type="submit">{t(lang, "transferDo")}</button>
        </form>
      )}
    </article>
  );
}

/** A call that just ended: why, in plain words, with Redial (or Call back). */
export function EndedCallCard({ lang, call, outcome, canRedial, onRedial, onClose }: {
  lang: Lang;
  call: CallInfo;
  outcome: CallOutcome;
  /** The phone is registered (else Redial waits, disabled). */
  canRedial: boolean;
  onRedial: () => void;
  onClose: () => void;
}) {
  const talked = call.answeredAt !== undefined && call.endedAt !== undefined
    ? ` · ${formatDuration((call.endedAt - call.answeredAt!) / 1000)}`
    : "";
  return (
    <article
      class={`card call ended ${isProblem(outcome) ? "problem" : ""}`}
      data-testid="call-ended"
      data-outcome={outcome}
    >
      <CallHead lang={lang} call={call}>
        <button type="button" class="link close" title={t(lang, "close")} onClick={onClose}>
          <span aria-hidden="true">×</span>
          <span class="sr-only">{t(lang, "close")}</span>
        </button>
      </CallHead>
      <div class="call-outcome">
        <p role="status" data-testid="call-outcome">
          {t(lang, outcomeText(outcome, call.direction))}
          {talked}
        </p>
        <button
          type="button"
          class="redial"
          data-testid="redial"
          disabled={!canRedial}
          onClick={onRedial}
        >
          <Icon name="redial" />
          {t(lang, call.direction === "inbound" ? "callBack" : "redial")}
        </button>
      </div>
    </article>
  );
}

function CallHead({ lang, call, who, toResponsible, children }: {
  lang: Lang;
  call: CallInfo;
  /** The caller as the CRM knows the number. */
  who?: CallerInfo | null;
  /** The one-click transfer to the caller's responsible employee (enabled once talking). */
  toResponsible?: { disabled: boolean; run: () => void };
  children?: ComponentChildren;
}) {
  const name = who?.name || call.displayName;
  // An incoming call keeps a line for what the CRM says, so its answer moves nothing.
  const secondLine = who
    ? (
      <div class="muted caller" data-testid="caller">
        {[
          call.number,
          who.company,
          who.responsibleId &&
          `${t(lang, "crmResponsible")}: ${who.responsiblePhoneInner ?? `#${who.responsibleId}`}`,
        ].filter(Boolean).join(" · ")}
        {toResponsible && (
          <>
            {" · "}
            <button
              type="button"
              class="link"
              data-testid="transfer-responsible"
              disabled={toResponsible.disabled}
              onClick={toResponsible.run}
            >
              {t(lang, "transferToResponsible")}
            </button>
          </>
        )}
      </div>
    )
    : name && name !== call.number
    ? <div class="muted">{call.number}</div>
    : call.direction === "inbound" && <div class="muted caller" aria-hidden="true">&nbsp;</div>;
  return (
    <div class="call-head">
      <div class="call-who">
        <div class="call-number" data-testid="call-title">{name || call.number}</div>
        {secondLine}
        {call.transferredFrom && (
          <div class="call-note" data-testid="transferred-from">
            {t(lang, "transferredFrom").replace("{who}", call.transferredFrom)}
          </div>
        )}
      </div>
      <div class="call-side">{children}</div>
    </div>
  );
}

/**
 * Answers `callId`. A blocked microphone is not thrown to the error banner: the ended call says
 * it, and so does the microphone notice.
 */
export function answerCall(phone: PhoneClient, callId: string): Promise<unknown> {
  return phone.answer(callId).catch((e) => {
    if ((e as { code?: string })?.code !== "media-denied") throw e;
  });
}

/** `text` with its key names (Enter, Esc) drawn as keys. */
export function withKeys(text: string) {
  return text.split(/\b(Enter|Esc)\b/).map((part, i) => i % 2 ? <kbd key={i}>{part}</kbd> : part);
}

/** An icon button with its label under the icon; the hint is its tooltip. */
function Control({ icon, label, hint, pressed, expanded, disabled, onClick }: {
  icon: IconName;
  label: string;
  hint: string;
  pressed?: boolean;
  expanded?: boolean;
  disabled?: boolean;
  onClick: () => void;
}) {
  return (
    <button
      type="button"
      class="ctl"
      title={hint}
      aria-pressed={pressed}
      aria-expanded={expanded}
      disabled={disabled}
      onClick={onClick}
    >
      <Icon name={icon} />
      <span class="ctl-label">{label}</span>
    </button>
  );
}
