import { useSignal } from "@preact/signals";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import type { Employee, FrameApi } from "../../lib/browser/frame_api.ts";
import { loadPhoneModule } from "../../lib/browser/phone_session.ts";
import { errorText, phoneErrorText } from "../../lib/browser/error_text.ts";
import {
  accountFieldErrors,
  AccountFields,
  type AccountFieldValues,
  type FieldErrors,
  readAccountFields,
} from "../AccountFields.tsx";

/**
 * An employee's SIP account: save, test the registration, cancel, remove (after a confirmation).
 * `onDone` closes the editor with a notice for the list ("saved", "removed"); `onCancel` closes it.
 */
export function AccountEditor({ lang, api, user, onDone, onCancel }: {
  lang: Lang;
  api: FrameApi;
  user: Employee;
  onDone: (notice: string) => void;
  onCancel: () => void;
}) {
  const status = useSignal("");
  const failed = useSignal(false);
  const busy = useSignal(false);
  const confirmingRemove = useSignal(false);
  const fieldErrors = useSignal<FieldErrors>({});
  const act = async (work: () => Promise<string>) => {
    busy.value = true;
    failed.value = false;
    fieldErrors.value = {};
    status.value = t(lang, "saving");
    try {
      status.value = await work();
    } catch (e) {
      failed.value = true;
      status.value = errorText(lang, e);
      fieldErrors.value = accountFieldErrors(lang, e);
    } finally {
      busy.value = false;
    }
  };
  return (
    <form
      class="editor"
      onSubmit={(e) => {
        e.preventDefault();
        const form = e.currentTarget as HTMLFormElement;
        act(async () => {
          await api.widget("SAVEUSERDATA", { userId: user.id, ...readAccountFields(form) });
          onDone(t(lang, "saved"));
          return t(lang, "saved");
        });
      }}
    >
      <AccountFields lang={lang} account={user.account} errors={fieldErrors.value} />
      <div class="form-actions">
        <button type="submit" disabled={busy.value}>{t(lang, "save")}</button>
        <button
          type="button"
          class="secondary"
          disabled={busy.value}
          onClick={(e) => {
            const form = (e.currentTarget as HTMLButtonElement).form!;
            act(() => testRegistration(lang, readAccountFields(form)));
          }}
        >
          {t(lang, "testRegister")}
        </button>
        <button type="button" class="secondary" disabled={busy.value} onClick={onCancel}>
          {t(lang, "cancel")}
        </button>
        {user.account && !confirmingRemove.value && (
          <button
            type="button"
            class="danger"
            disabled={busy.value}
            onClick={() => confirmingRemove.value = true}
          >
            {t(lang, "remove")}
          </button>
        )}
        <span class={failed.value ? "field-error" : "muted"} aria-live="polite">{status}</span>
      </div>
      {confirmingRemove.value && (
        <div class="confirm" role="alertdialog" aria-label={t(lang, "removeConfirm")}>
          <span>{t(lang, "removeConfirm")}</span>
          <button
            type="button"
            class="danger"
            disabled={busy.value}
            onClick={() =>
              act(async () => {
                await api.widget("DELETEUSERDATA", { userId: user.id });
                onDone(t(lang, "removed"));
                return t(lang, "removed");
              })}
          >
            {t(lang, "removeYes")}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() =>
              confirmingRemove.value = false}
          >
            {t(lang, "cancel")}
          </button>
        </div>
      )}
    </form>
  );
}

/**
 * Registers the entered account with a separate phone engine in this tab (so the admin's own
 * phone is untouched), then unregisters it; says how it went.
 */
async function testRegistration(lang: Lang, f: AccountFieldValues): Promise<string> {
  if (!f.password) return t(lang, "testNeedsPassword");
  const { connectPhone } = await loadPhoneModule();
  const phone = await connectPhone({
    host: "tab",
    name: `test-${crypto.randomUUID()}`,
    ringtone: false,
  });
  try {
    await phone.register({
      wsUrl: f.url,
      sipUri: f.sipUri || `sip:${f.user}@${new URL(f.url).hostname}`,
      authUser: f.user,
      password: f.password,
    });
    await phone.unregister();
    return t(lang, "testRegisterOk");
  } catch (e) {
    const reason = phone.state.registration.error?.code;
    return reason ? phoneErrorText(lang, reason) : errorText(lang, e);
  } finally {
    phone.close();
  }
}
