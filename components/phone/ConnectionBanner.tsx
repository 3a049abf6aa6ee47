import { type Lang, t } from "../../lib/shared/i18n.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import type { PhoneClient, PhoneSnapshot } from "../../lib/browser/phone/client.ts";
import { connectionNotice } from "../../lib/browser/connection_notice.ts";
import type { RunCommand } from "./types.ts";

/** What is wrong with the connection to the PBX and what to do, with Retry where it helps. */
export function ConnectionBanner({ lang, phone, snapshot, me, wasRegistered, run }: {
  lang: Lang;
  phone: PhoneClient;
  snapshot: PhoneSnapshot;
  me: Me;
  wasRegistered: boolean;
  run: RunCommand;
}) {
  const account = accountOf(me);
  if (!account) return null;
  const notice = connectionNotice(snapshot, wasRegistered, me.portal.usersEditOwnAccount);
  if (!notice) return null;
  return (
    <div
      class={`banner ${notice.tone}`}
      role={notice.tone === "error" ? "alert" : "status"}
      data-testid="connection-notice"
      data-notice={notice.text}
    >
      <span>{t(lang, notice.text)}</span>
      {notice.retry && (
        <button
          type="button"
          class="secondary small"
          data-testid="connection-retry"
          // A failure shows in this notice again; no second banner.
          onClick={() => run(phone.register(account).catch(() => {}))}
        >
          {t(lang, "retry")}
        </button>
      )}
    </div>
  );
}
