import { type Signal, useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import type { FrameApi } from "../../lib/browser/frame_api.ts";
import type { Me } from "../../lib/browser/phone_session.ts";
import type { AudioDevices, PhoneClient } from "../../lib/browser/phone/client.ts";
import { DeviceSelect } from "./DeviceSelect.tsx";
import { OwnAccount } from "./OwnAccount.tsx";
import { SelfTest } from "./SelfTest.tsx";
import type { RunCommand } from "./types.ts";

/** Audio devices and ringtone volume, the connection test, and the user's own account. */
export function SettingsTab({ lang, phone, api, me, run }: {
  lang: Lang;
  phone: PhoneClient;
  api: FrameApi;
  me: Signal<Me | null>;
  run: RunCommand;
}) {
  const devices = useSignal<AudioDevices | null>(null);
  useEffect(() => {
    phone.listDevices().then((d) => devices.value = d).catch(() => {});
  }, []);
  const settings = phone.state.devices;
  return (
    <div class="settings-grid">
      <section class="card">
        <h2>{t(lang, "devices")}</h2>
        <DeviceSelect
          label={t(lang, "microphone")}
          defaultLabel={t(lang, "defaultDevice")}
          devices={devices.value?.microphones ?? []}
          value={settings.microphoneId}
          onChange={(microphoneId) => run(phone.setDevices({ ...settings, microphoneId }))}
        />
        <DeviceSelect
          label={t(lang, "speaker")}
          defaultLabel={t(lang, "defaultDevice")}
          devices={devices.value?.speakers ?? []}
          value={settings.speakerId}
          disabled={!devices.value?.canSelectSpeaker}
          onChange={(speakerId) => run(phone.setDevices({ ...settings, speakerId }))}
        >
          {devices.value && !devices.value.canSelectSpeaker && (
            <small class="muted">{t(lang, "speakerUnsupported")}</small>
          )}
        </DeviceSelect>
        <label class="field">
          <span>{t(lang, "ringVolume")}</span>
          <input
            type="range"
            min="0"
            max="1"
            step="0.1"
            value={String(settings.ringVolume ?? 0.7)}
            onChange={(e) =>
              run(phone.setDevices({
                ...settings,
                ringVolume: Number((e.target as HTMLInputElement).value),
              }))}
          />
        </label>
      </section>
      <SelfTest lang={lang} phone={phone} me={me.value!} />
      {me.value?.portal.usersEditOwnAccount && (
        <OwnAccount lang={lang} api={api} me={me} phone={phone} run={run} />
      )}
    </div>
  );
}
