import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { formatDuration, normalizeNumber } from "../../lib/shared/dial.ts";
import type { CallInfo, PhoneClient } from "../../lib/browser/phone/client.ts";
import type { CallerInfo } from "../../lib/shared/api/widget.ts";
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

/** One live call: its number, state and talk time, and what can be done with it. */
export function CallCard({ lang, phone, call, run, callers }: {
  lang: Lang;
  phone: PhoneClient;
  call: CallInfo;
  run: RunCommand;
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
  return (
    <article class={`card call ${call.state}`} data-testid="call" data-state={call.state}>
      <div class="call-head">
        <div>
          <div class="call-number" data-testid="call-title">
            {who?.name || call.displayName || call.number}
          </div>
          {who && (
            <div class="muted caller" data-testid="caller">
              {[
                call.number,
                who.company,
                who.responsibleId &&
                `${t(lang, "crmResponsible")}: ${
                  who.responsiblePhoneInner ?? `#${who.responsibleId}`
                }`,
              ].filter(Boolean).join(" · ")}
            </div>
          )}
          <div class="muted">
            {t(lang, STATE_TEXT[call.state] ?? "stateConnected")}
            {call.answeredAt &&
              ` · ${formatDuration((now.value - call.answeredAt) / 1000)}`}
          </div>
        </div>
      </div>
      <div class="call-actions">
        {incoming && (
          <>
            <button type="button" class="answer" onClick={() => run(phone.answer(call.id))}>
              {t(lang, "answer")}
            </button>
            <button type="button" class="danger" onClick={() => run(phone.reject(call.id, 603))}>
              {t(lang, "decline")}
            </button>
          </>
        )}
        {talking && (
          <>
            <button
              type="button"
              class="secondary"
              aria-pressed={call.muted}
              onClick={() => run(phone.mute(call.id, !call.muted))}
            >
              {t(lang, call.muted ? "unmute" : "mute")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-pressed={call.held}
              onClick={() => run(phone.hold(call.id, !call.held))}
            >
              {t(lang, call.held ? "resume" : "hold")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-expanded={panel.value === "keypad"}
              onClick={() => panel.value = panel.value === "keypad" ? "" : "keypad"}
            >
              {t(lang, "keypad")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-expanded={panel.value === "transfer"}
              onClick={() => panel.value = panel.value === "transfer" ? "" : "transfer"}
            >
              {t(lang, "transfer")}
            </button>
            {who?.responsibleId && (
              <button
                type="button"
                class="secondary"
                data-testid="transfer-responsible"
                onClick={() => run(toResponsible(who.responsibleId!, who.responsiblePhoneInner))}
              >
                {t(lang, "transferToResponsible")}
              </button>
            )}
          </>
        )}
        {!incoming && (
          <button
            type="button"
            class="danger"
            onClick={() => run(phone.hangup(call.id))}
          >
            {t(lang, "hangup")}
          </button>
        )}
      </div>
      {panel.value === "keypad" && <Keypad onKey={(k) => run(phone.dtmf(call.id, k))} />}
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
              onInput={(e) => target.value = (e.target as HTMLInputElement).value}
            />
          </label>
          <button type="submit">{t(lang, "transferDo")}</button>
        </form>
      )}
    </article>
  );
}
