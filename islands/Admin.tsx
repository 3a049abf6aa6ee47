// The administrator's panel: employees and their SIP accounts, portal settings, app credentials,
// and problems Bitrix24 reported.
import { useSignal } from "@preact/signals";
import { useState } from "preact/hooks";
import { type Lang, t, type TextKey } from "../lib/shared/i18n.ts";
import { FrameApi, type FrameAuth } from "../lib/browser/frame_api.ts";
import { Tabs } from "../components/Tabs.tsx";
import { Employees } from "../components/admin/Employees.tsx";
import { PortalSettings } from "../components/admin/PortalSettings.tsx";
import { Credentials } from "../components/admin/Credentials.tsx";
import { Diagnostics } from "../components/admin/Diagnostics.tsx";

/** Props of the admin island. */
export interface AdminProps {
  /** UI language. */
  lang: Lang;
  /** The frame's credentials for the app's APIs. */
  auth: FrameAuth;
  /** `local` apps need their client id and secret saved here. */
  appKind: "marketplace" | "local";
  /** Why Bitrix24 refuses the app on the portal for now (calls wait), or null. */
  blocked?: "payment_required" | "invalid_client" | null;
  /** The app's server-side Bitrix24 tokens are dead and no administrator's page renewed them. */
  serverTokensDead?: boolean;
}

const BLOCKED_TEXT: Record<NonNullable<AdminProps["blocked"]>, TextKey> = {
  payment_required: "blockedPaymentRequired",
  invalid_client: "blockedInvalidClient",
};

type Tab = "employees" | "portal" | "credentials" | "diagnostics";

const TABS: [Tab, TextKey][] = [
  ["employees", "tabEmployees"],
  ["portal", "tabPortal"],
  ["credentials", "tabCredentials"],
  ["diagnostics", "tabDiagnostics"],
];

export default function Admin({ lang, auth, appKind, blocked, serverTokensDead }: AdminProps) {
  const tab = useSignal<Tab>("employees");
  // One client for the island's life: a token it refreshed survives tab switches.
  const [api] = useState(() => new FrameApi(auth));
  return (
    <section class="admin" aria-label={t(lang, "adminTitle")}>
      <h2 class="section-title">{t(lang, "adminTitle")}</h2>
      {blocked && <p class="card notice" role="alert">{t(lang, BLOCKED_TEXT[blocked])}</p>}
      {serverTokensDead && (
        <p class="banner error" role="alert" data-testid="server-tokens-dead">
          {t(lang, "serverTokensDead")}
        </p>
      )}
      <Tabs lang={lang} active={tab} tabs={TABS} />
      {tab.value === "employees" && <Employees lang={lang} api={api} />}
      {tab.value === "portal" && <PortalSettings lang={lang} api={api} />}
      {tab.value === "credentials" && <Credentials lang={lang} api={api} appKind={appKind} />}
      {tab.value === "diagnostics" && <Diagnostics lang={lang} api={api} />}
    </section>
  );
}
