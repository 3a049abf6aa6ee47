import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { formatDuration, normalizeNumber } from "../../lib/shared/dial.ts";
import type { CallInfo, PhoneClient } from "../../lib/browser/phone/client.ts";
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

/** One live call: its number, state and talk time, and what can be done with it. */
export function CallCard({ lang, phone, call, run }: {
  lang: Lang;
  phone: PhoneClient;
  call: CallInfo;
  run: RunCommand;
}) {
  const panel = useSignal<"" | "keypad" | "transfer">("");
  const target = useSignal("");
  const now = useSignal(Date.now());
  useEffect(() => {
    const timer = setInterval(() => now.value = Date.now(), 1000);
    return () => clearInterval(timer);
  }, []);
  const incoming = call.state === "incoming";
  const talking = call.state === "connected" || call.state === "held";
  return (
    <article class={`card call ${call.state}`} data-testid="call" data-state={call.state}>
      <div class="call-head">
        <div>
          <div class="call-number">{call.displayName || call.number}</div>
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
