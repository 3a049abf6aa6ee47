import { useSignal } from "@preact/signals";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import { normalizeNumber } from "../../lib/shared/dial.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import type { PhoneClient, PhoneSnapshot } from "../../lib/browser/phone/client.ts";
import { CallCard, type CallerSource } from "./CallCard.tsx";
import { Keypad } from "./Keypad.tsx";
import type { RunCommand } from "./types.ts";

/** The dial pad and the live calls. */
export function PhoneTab({ lang, phone, snapshot, me, run, callers }: {
  lang: Lang;
  phone: PhoneClient;
  snapshot: PhoneSnapshot;
  me: Me | null;
  run: RunCommand;
  callers?: CallerSource;
}) {
  const number = useSignal("");
  const live = snapshot.calls.filter((c) => c.state !== "ended");
  const canCall = snapshot.registration.state === "registered";
  if (me && !accountOf(me)) return <p class="card empty">{t(lang, "noAccountUser")}</p>;
  const dial = () => {
    const target = normalizeNumber(number.value);
    if (target) run(phone.call(target).then(() => number.value = ""));
  };
  return (
    <div class="phone-grid">
      <section class="card dialer" aria-label={t(lang, "keypad")}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            dial();
          }}
        >
          <label class="field">
            <span>{t(lang, "number")}</span>
            <input
              type="tel"
              name="number"
              autocomplete="tel"
              placeholder={t(lang, "numberPlaceholder")}
              value={number}
              onInput={(e) => number.value = (e.target as HTMLInputElement).value}
            />
          </label>
          <Keypad onKey={(k) => number.value += k} />
          <button
            type="submit"
            class="call-button"
            disabled={!canCall || !normalizeNumber(number.value)}
          >
            {t(lang, "call")}
          </button>
        </form>
      </section>
      <section class="calls" aria-live="polite">
        {live.length === 0 && (
          <div class="card calls-empty">
            <strong>{t(lang, "noCalls")}</strong>
            {me?.account?.sipUri}
          </div>
        )}
        {live.map((call) => (
          <CallCard
            key={call.id}
            lang={lang}
            phone={phone}
            call={call}
            run={run}
            callers={callers}
          />
        ))}
      </section>
    </div>
  );
}
