import { type Signal, useSignal } from "@preact/signals";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import { SaveRow } from "../SaveRow.tsx";
import type { FrameApi } from "../../lib/browser/frame_api.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import { errorText } from "../../lib/browser/error_text.ts";
import type { PhoneClient } from "../../lib/browser/phone/client.ts";
import {
  accountFieldErrors,
  AccountFields,
  type FieldErrors,
  readAccountFields,
} from "../AccountFields.tsx";
import type { RunCommand } from "./types.ts";

/** The user's own SIP account editor (when the portal allows it); registers what was saved. */
export function OwnAccount({ lang, api, me, phone, run }: {
  lang: Lang;
  api: FrameApi;
  me: Signal<Me | null>;
  phone: PhoneClient;
  run: RunCommand;
}) {
  const account = me.value?.account;
  const status = useSignal("");
  const fieldErrors = useSignal<FieldErrors>({});
  const save = async (form: HTMLFormElement) => {
    status.value = t(lang, "saving");
    fieldErrors.value = {};
    try {
      await api.widget("SAVEUSERDATA", { userId: me.value!.userId, ...readAccountFields(form) });
      me.value = await api.widget("GETME");
      const next = accountOf(me.value);
      if (next) run(phone.register(next));
      status.value = t(lang, "saved");
    } catch (e) {
      status.value = errorText(lang, e);
      fieldErrors.value = accountFieldErrors(lang, e);
    }
  };
  return (
    <section class="card">
      <h2>{t(lang, "myAccount")}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          save(e.currentTarget as HTMLFormElement);
        }}
      >
        <AccountFields lang={lang} account={account ?? null} errors={fieldErrors.value} />
        <SaveRow lang={lang} status={status} />
      </form>
    </section>
  );
}
