import { type Lang, t } from "../lib/shared/i18n.ts";

/** A SIP account as the editors show it (never its password). */
export interface AccountView {
  wsUrl: string;
  authUser: string;
  sipUri: string;
  displayName: string | null;
  hasPassword: boolean;
}

/** The inputs of a SIP account form (the employee's own editor and the admin panel). */
export function AccountFields({ lang, account }: {
  lang: Lang;
  account: {
    wsUrl: string;
    authUser: string;
    sipUri: string;
    displayName: string | null;
    hasPassword: boolean;
  } | null;
}) {
  return (
    <>
      <label class="field">
        <span>{t(lang, "wsUrl")}</span>
        <input
          name="url"
          type="url"
          required
          placeholder="wss://pbx.example.com:8089/ws"
          value={account?.wsUrl ?? ""}
        />
      </label>
      <label class="field">
        <span>{t(lang, "sipLogin")}</span>
        <input name="user" required autocomplete="off" value={account?.authUser ?? ""} />
      </label>
      <label class="field">
        <span>{t(lang, "sipPassword")}</span>
        <input
          name="password"
          type="password"
          autocomplete="new-password"
          required={!account?.hasPassword}
          placeholder={account?.hasPassword ? t(lang, "passwordUnchanged") : ""}
        />
      </label>
      <label class="field">
        <span>{t(lang, "sipUri")}</span>
        <input name="sipUri" placeholder="sip:101@pbx.example.com" value={account?.sipUri ?? ""} />
      </label>
      <label class="field">
        <span>{t(lang, "displayName")}</span>
        <input name="displayName" value={account?.displayName ?? ""} />
      </label>
    </>
  );
}
