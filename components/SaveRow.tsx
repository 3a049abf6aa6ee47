import type { Signal } from "@preact/signals";
import { type Lang, t } from "../lib/shared/i18n.ts";

/** A form's Save button with the form's status beside it, read out when it changes. */
export function SaveRow({ lang, status }: { lang: Lang; status: Signal<string> }) {
  return (
    <div class="form-actions">
      <button type="submit">{t(lang, "save")}</button>
      <span class="muted" aria-live="polite">{status}</span>
    </div>
  );
}
