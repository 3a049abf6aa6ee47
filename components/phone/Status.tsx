import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import { PHONE_ERROR_TEXT } from "../../lib/browser/error_text.ts";
import type { PhoneSnapshot } from "../../lib/browser/phone/client.ts";

const REGISTRATION_TEXT: Record<string, TextKey> = {
  registered: "regRegistered",
  registering: "regRegistering",
  unregistered: "regUnregistered",
  failed: "regFailed",
};

/** The registration state in the phone's header, with why it failed. */
export function Status({ lang, snapshot, me }: {
  lang: Lang;
  snapshot: PhoneSnapshot | null;
  me: Me | null;
}) {
  if (!snapshot || !me) return <span class="pill">{t(lang, "loading")}</span>;
  if (!accountOf(me)) return <span class="pill off">{t(lang, "regNoAccount")}</span>;
  const reg = snapshot.registration;
  const reason = reg.error ? PHONE_ERROR_TEXT[reg.error.code] : undefined;
  return (
    <span class="status" data-testid="registration" data-state={reg.state}>
      <span class={`pill ${reg.state}`}>
        {t(lang, REGISTRATION_TEXT[reg.state] ?? "regUnregistered")}
      </span>
      {reason && <span class="status-reason">{t(lang, reason)}</span>}
    </span>
  );
}
