import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import type { FrameApi, WidgetResult } from "../../lib/browser/frame_api.ts";

/** The problems Bitrix24 last reported about the app's placements. */
export function Diagnostics({ lang, api }: { lang: Lang; api: FrameApi }) {
  const errors = useSignal<WidgetResult<"GETPLACEMENTERRORS">["errors"] | null>(null);
  useEffect(() => {
    api.widget("GETPLACEMENTERRORS").then((r) => errors.value = r.errors).catch(() =>
      errors.value = []
    );
  }, []);
  const fmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  return (
    <section class="card">
      <h3>{t(lang, "placementErrors")}</h3>
      {errors.value === null && <p class="muted">{t(lang, "loading")}</p>}
      {errors.value?.length === 0 && <p class="muted">{t(lang, "placementErrorsNone")}</p>}
      <ul class="log">
        {errors.value?.map((e, i) => (
          <li key={i}>
            <span class="muted">{fmt.format(new Date(e.at))}</span> <code>{e.error}</code>{" "}
            {e.error_description}
          </li>
        ))}
      </ul>
    </section>
  );
}
