// Finishes the installation inside the Bitrix24 frame (installFinish) and says what happened.
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t } from "../lib/shared/i18n.ts";

/** Props of the installer island. */
export interface InstallerProps {
  /** UI language. */
  lang: Lang;
  /** The portal the app was installed on. */
  domain: string;
  /** True on the first install, false on a repeated one. */
  created: boolean;
}

export default function Installer({ lang, domain, created }: InstallerProps) {
  const state = useSignal<"finishing" | "done" | "outside">("finishing");
  useEffect(() => {
    (async () => {
      try {
        const { initializeB24Frame } = await import("@bitrix24/b24jssdk");
        const frame = await initializeB24Frame();
        if (frame.isInstallMode) await frame.installFinish();
        state.value = "done";
      } catch {
        state.value = "outside";
      }
    })();
  }, []);
  return (
    <main class="card installer" aria-live="polite">
      <h1>{t(lang, created ? "installTitle" : "reinstallTitle")}</h1>
      <p>{t(lang, "installDone").replace("{domain}", domain)}</p>
      <p class="muted" data-state={state}>
        {state.value === "finishing"
          ? t(lang, "installFinishing")
          : state.value === "done"
          ? t(lang, "installFinished")
          : t(lang, "installOutsideFrame")}
      </p>
    </main>
  );
}
