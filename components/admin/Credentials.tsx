import { useSignal } from "@preact/signals";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import { SaveRow } from "../SaveRow.tsx";
import type { FrameApi } from "../../lib/browser/frame_api.ts";
import { errorText } from "../../lib/browser/error_text.ts";

/** A local app's client id and secret (a Marketplace app's are the provider's). */
export function Credentials({ lang, api, appKind }: {
  lang: Lang;
  api: FrameApi;
  appKind: "marketplace" | "local";
}) {
  const status = useSignal("");
  if (appKind === "marketplace") return <p class="card muted">{t(lang, "marketplaceApp")}</p>;
  return (
    <form
      class="card"
      onSubmit={async (e) => {
        e.preventDefault();
        const data = new FormData(e.currentTarget as HTMLFormElement);
        status.value = t(lang, "saving");
        try {
          await api.widget("UPDATECREED", {
            clientId: String(data.get("clientId")),
            secretId: String(data.get("secretId")),
          });
          status.value = t(lang, "credentialsSaved");
        } catch (err) {
          status.value = errorText(lang, err);
        }
      }}
    >
      <p class="muted">{t(lang, "credentialsHint")}</p>
      <label class="field">
        <span>{t(lang, "clientId")}</span>
        <input name="clientId" required autocomplete="off" placeholder="local.0123abcd.12345678" />
      </label>
      <label class="field">
        <span>{t(lang, "clientSecret")}</span>
        <input name="secretId" type="password" required autocomplete="new-password" />
      </label>
      <SaveRow lang={lang} status={status} />
    </form>
  );
}
