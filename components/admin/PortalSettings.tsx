import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import { SaveRow } from "../SaveRow.tsx";
import type { PortalSettings as Settings } from "../../lib/shared/api/widget.ts";
import { formatIceServers, parseIceServers } from "../../lib/shared/ice_servers.ts";
import type { FrameApi } from "../../lib/browser/frame_api.ts";
import { errorText } from "../../lib/browser/error_text.ts";

/**
 * The portal's settings: CRM records, the call card, employees' own accounts, ICE servers, how
 * long calls are kept.
 */
export function PortalSettings({ lang, api }: { lang: Lang; api: FrameApi }) {
  const settings = useSignal<Settings | null>(null);
  const status = useSignal("");
  useEffect(() => {
    api.widget("GETPLACEMENTERRORS").then((r) => settings.value = r.settings).catch((e) =>
      status.value = errorText(lang, e)
    );
  }, []);
  if (!settings.value) return <p class="card muted">{status.value || t(lang, "loading")}</p>;
  const s = settings.value;
  const save = async (form: HTMLFormElement) => {
    const data = new FormData(form);
    const next: Settings = {
      crmCreate: data.has("crmCreate"),
      showCard: data.has("showCard"),
      usersEditOwnAccount: data.has("usersEditOwnAccount"),
      iceServers: parseIceServers(String(data.get("iceServers") ?? "")),
      callRetentionDays: Number(data.get("callRetentionDays")),
    };
    status.value = t(lang, "saving");
    try {
      await api.widget("SAVESETTINGS", { settings: next });
      settings.value = next;
      status.value = t(lang, "saved");
    } catch (e) {
      status.value = errorText(lang, e);
    }
  };
  return (
    <form
      class="card"
      onSubmit={(e) => {
        e.preventDefault();
        save(e.currentTarget as HTMLFormElement);
      }}
    >
      <Toggle name="crmCreate" label={t(lang, "crmCreate")} checked={s.crmCreate} />
      <Toggle name="showCard" label={t(lang, "showCard")} checked={s.showCard} />
      <Toggle
        name="usersEditOwnAccount"
        label={t(lang, "usersEditOwn")}
        checked={s.usersEditOwnAccount}
      />
      <label class="field">
        <span>{t(lang, "iceServers")}</span>
        <textarea name="iceServers" rows={3} placeholder="stun:stun.example.com:3478">
          {formatIceServers(s.iceServers)}
        </textarea>
        <small class="muted">{t(lang, "iceServersHint")}</small>
      </label>
      <label class="field">
        <span>{t(lang, "callRetentionDays")}</span>
        <input
          type="number"
          name="callRetentionDays"
          min={30}
          max={3650}
          required
          value={s.callRetentionDays}
        />
        <small class="muted">{t(lang, "callRetentionHint")}</small>
      </label>
      <SaveRow lang={lang} status={status} />
    </form>
  );
}

function Toggle({ name, label, checked }: { name: string; label: string; checked: boolean }) {
  return (
    <label class="toggle">
      <input type="checkbox" name={name} checked={checked} />
      <span>{label}</span>
    </label>
  );
}
