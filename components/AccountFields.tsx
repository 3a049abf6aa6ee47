import { type Lang, t } from "../lib/shared/i18n.ts";
import type { SipAccountView } from "../lib/shared/api/widget.ts";
import type { WidgetParams } from "../lib/browser/frame_api.ts";

/** A SIP account as the editors show it (never its password). */
export type AccountView = Pick<
  SipAccountView,
  "wsUrl" | "authUser" | "sipUri" | "displayName" | "hasPassword"
>;

/** The SIP account fields a form of {@link AccountFields} holds, as the widget API takes them. */
export type AccountFieldValues = Omit<WidgetParams<"SAVEUSERDATA">, "userId">;

/** Reads the fields of {@link AccountFields} from their form (an empty password keeps the old). */
export function readAccountFields(form: HTMLFormElement): AccountFieldValues {
  const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
  return {
    url: data.url,
    user: data.user,
    ...(data.password ? { password: data.password } : {}),
    ...(data.sipUri ? { sipUri: data.sipUri } : {}),
    displayName: data.displayName,
  };
}

/** The inputs of a SIP account form (the employee's own editor and the admin panel). */
export function AccountFields({ lang, account }: { lang: Lang; account: AccountView | null }) {
  return (
    <>
      <label class="field">
        <span>{t(lang, "wsUrl")}</span>
        <input
          name="url"
          type="url"
          required
          placeholder="wss://pbx.example.com:8089/ws"
          defaultValue={account?.wsUrl ?? ""}
        />
      </label>
      <label class="field">
        <span>{t(lang, "sipLogin")}</span>
        <input name="user" required autocomplete="off" defaultValue={account?.authUser ?? ""} />
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
        <input
          name="sipUri"
          placeholder="sip:101@pbx.example.com"
          defaultValue={account?.sipUri ?? ""}
        />
      </label>
      <label class="field">
        <span>{t(lang, "displayName")}</span>
        <input name="displayName" defaultValue={account?.displayName ?? ""} />
      </label>
    </>
  );
}
