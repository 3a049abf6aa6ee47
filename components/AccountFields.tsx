import { fieldFixes, type Lang, t } from "../lib/shared/i18n.ts";
import type { SipAccountView } from "../lib/shared/api/widget.ts";
import { ApiError, type WidgetParams } from "../lib/browser/frame_api.ts";

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

/** What is wrong with a field, by the field's name (`url`, `user`, …), in the page's language. */
export type FieldErrors = Record<string, string>;

/** The fields a failed save refused (a `bad_request`'s details), with what to enter in each. */
export function accountFieldErrors(lang: Lang, error: unknown): FieldErrors {
  return error instanceof ApiError && error.code === "bad_request"
    ? fieldFixes(lang, error.details)
    : {};
}

/**
 * The inputs of a SIP account form (the employee's own editor and the admin panel); a field
 * named in `errors` is marked invalid and says what to enter, in red, right under it.
 */
export function AccountFields({ lang, account, errors = {} }: {
  lang: Lang;
  account: AccountView | null;
  errors?: FieldErrors;
}) {
  const invalid = (name: string) =>
    errors[name] ? { "aria-invalid": true as const, "aria-describedby": `${name}-error` } : {};
  const problem = (name: string) =>
    errors[name] && (
      <span class="field-error" id={`${name}-error`} data-testid={`${name}-error`}>
        {errors[name]}
      </span>
    );
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
          {...invalid("url")}
        />
        {problem("url")}
      </label>
      <label class="field">
        <span>{t(lang, "sipLogin")}</span>
        <input
          name="user"
          required
          autocomplete="off"
          defaultValue={account?.authUser ?? ""}
          {...invalid("user")}
        />
        {problem("user")}
      </label>
      <label class="field">
        <span>{t(lang, "sipPassword")}</span>
        <input
          name="password"
          type="password"
          autocomplete="new-password"
          required={!account?.hasPassword}
          placeholder={account?.hasPassword ? t(lang, "passwordUnchanged") : ""}
          {...invalid("password")}
        />
        {problem("password")}
      </label>
      <label class="field">
        <span>{t(lang, "sipUri")}</span>
        <input
          name="sipUri"
          placeholder="sip:101@pbx.example.com"
          defaultValue={account?.sipUri ?? ""}
          {...invalid("sipUri")}
        />
        {problem("sipUri")}
      </label>
      <label class="field">
        <span>{t(lang, "displayName")}</span>
        <input
          name="displayName"
          defaultValue={account?.displayName ?? ""}
          {...invalid("displayName")}
        />
        {problem("displayName")}
      </label>
    </>
  );
}
