// The employee's phone on the app page.
import { useSignal } from "@preact/signals";
import { type Lang, t } from "../lib/i18n.ts";

/** Props of the phone island. */
export interface PhoneProps {
  /** UI language. */
  lang: Lang;
  /** The portal's domain, shown in the header. */
  domain: string;
}

export default function Phone({ lang, domain }: PhoneProps) {
  const number = useSignal("");
  return (
    <section class="card phone">
      <header class="card-header">
        <h1>{t(lang, "appTitle")}</h1>
        <span class="muted">{domain}</span>
      </header>
      <label class="field">
        <span>Number</span>
        <input
          type="tel"
          value={number}
          onInput={(e) => number.value = (e.target as HTMLInputElement).value}
        />
      </label>
      <output class="muted" data-testid="echo">{number}</output>
    </section>
  );
}
