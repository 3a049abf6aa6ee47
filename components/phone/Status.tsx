import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import type { PhoneSnapshot } from "../../lib/browser/phone/client.ts";

const REGISTRATION_TEXT: Record<string, TextKey> = {
  registered: "regRegistered",
  registering: "regRegistering",
  unregistered: "regUnregistered",
  failed: "regFailed",
};

/** The registration state in the phone's header (what to do about a failure is in its banner). */
export function Status({ lang, snapshot, me }: {
  lang: Lang;
  snapshot: PhoneSnapshot | null;
  me: Me | null;
}) {
  if (!snapshot || !me) return <span class="pill">{t(lang, "loading")}</span>;
  if (!accountOf(me)) return <span class="pill off">{t(lang, "regNoAccount")}</span>;
  const reg = snapshot.registration;
  return (
    <span class="status" data-testid="registration" data-state={reg.state}>
      <span class={`pill ${reg.state}`}>
        {t(lang, REGISTRATION_TEXT[reg.state] ?? "regUnregistered")}
      </span>
    </span>
  );
}
