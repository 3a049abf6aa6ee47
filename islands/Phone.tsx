// The employee's phone on the app page: status, dial pad, calls, history, devices and self-test.
import { useSignal } from "@preact/signals";
import { useEffect, useRef, useState } from "preact/hooks";
import { type Lang, t, type TextKey } from "../lib/shared/i18n.ts";
import { FrameApi, type FrameAuth } from "../lib/browser/frame_api.ts";
import { type Me, startPhoneSession } from "../lib/browser/phone_session.ts";
import { errorText } from "../lib/browser/error_text.ts";
import type { PhoneClient, PhoneSnapshot } from "../lib/browser/phone/client.ts";
import { Tabs } from "../components/Tabs.tsx";
import { Status } from "../components/phone/Status.tsx";
import { PhoneTab } from "../components/phone/PhoneTab.tsx";
import type { CallerSource } from "../components/phone/CallCard.tsx";
import { HistoryTab } from "../components/phone/HistoryTab.tsx";
import { SettingsTab } from "../components/phone/SettingsTab.tsx";
import type { RunCommand } from "../components/phone/types.ts";
import { ConnectionBanner } from "../components/phone/ConnectionBanner.tsx";
import {
  browserAlertHost,
  IncomingAlert,
  listenNotificationClicks,
} from "../lib/browser/incoming_alert.ts";
import { answerCall } from "../components/phone/CallCard.tsx";

/** Props of the phone island. */
export interface PhoneProps {
  /** UI language. */
  lang: Lang;
  /** The frame's credentials for the app's APIs. */
  auth: FrameAuth;
}

type Tab = "phone" | "history" | "settings";

const TABS: [Tab, TextKey][] = [
  ["phone", "tabPhone"],
  ["history", "tabHistory"],
  ["settings", "tabSettings"],
];

export default function Phone({ lang, auth }: PhoneProps) {
  const tab = useSignal<Tab>("phone");
  const snapshot = useSignal<PhoneSnapshot | null>(null);
  const me = useSignal<Me | null>(null);
  const error = useSignal<string>("");
  const phoneRef = useRef<PhoneClient | null>(null);
  // One client for the island's life: a token it refreshed stays for every later call.
  const [api] = useState(() => new FrameApi(auth));
  const [callers] = useState<CallerSource>(() => ({
    lookup: async (number) => (await api.widget("GETCALLER", { number })).caller,
    colleagueAddress: async (userId) =>
      (await api.widget("GETTRANSFERTARGET", { userId })).sipUri ?? undefined,
  }));

  const wasRegistered = useRef(false);

  const run: RunCommand = (work) => work.catch((e) => error.value = errorText(lang, e));

  useEffect(() => {
    const stops: (() => void)[] = [];
    startPhoneSession(api).then(({ phone, me: who }) => {
      phoneRef.current = phone;
      me.value = who;
      const alert = new IncomingAlert(
        browserAlertHost({ answer: t(lang, "answer"), decline: t(lang, "decline") }),
        phone.tabId,
        (call) => t(lang, "titleIncoming").replace("{who}", call.displayName || call.number),
      );
      const show = (s: PhoneSnapshot) => {
        if (s.registration.state === "registered") wasRegistered.current = true;
        // A new incoming call brings the phone tab forward, where Enter answers it.
        const before = snapshot.value?.calls ?? [];
        if (s.calls.some((c) => c.state === "incoming" && !before.some((b) => b.id === c.id))) {
          tab.value = "phone";
        }
        snapshot.value = s;
        alert.update(s.calls);
      };
      show(phone.state);
      phone.stateChange.addListener(show);
      const onVisibility = () => alert.update(phone.state.calls);
      document.addEventListener("visibilitychange", onVisibility);
      stops.push(() => document.removeEventListener("visibilitychange", onVisibility));
      // Answer and Decline on the notification of a hidden tab.
      stops.push(listenNotificationClicks(phone.tabId, ({ action, callId }) => {
        tab.value = "phone";
        if (action === "answer") run(answerCall(phone, callId));
        if (action === "decline") run(phone.reject(callId, 603));
      }));
    }).catch((e) => error.value = errorText(lang, e));
    return () => stops.forEach((stop) => stop());
  }, []);

  const phone = phoneRef.current;

  return (
    <main class="phone-app" aria-busy={snapshot.value === null}>
      <header class="app-header">
        <h1>{t(lang, "appTitle")}</h1>
        <Status lang={lang} snapshot={snapshot.value} me={me.value} />
      </header>
      <Tabs lang={lang} active={tab} tabs={TABS} />
      {error.value && (
        <p class="banner error" role="alert">
          {error.value}
          <button type="button" class="link" onClick={() => error.value = ""} aria-label="×">
            ×
          </button>
        </p>
      )}
      {phone && snapshot.value && me.value && (
        <ConnectionBanner
          lang={lang}
          phone={phone}
          snapshot={snapshot.value}
          me={me.value}
          wasRegistered={wasRegistered.current}
          run={run}
        />
      )}
      {snapshot.value?.canPlaySound === false && (
        <p class="banner warn" role="status" data-testid="sound-blocked">
          {t(lang, "soundBlockedHere")}
        </p>
      )}
      {snapshot.value?.tabsShared === false && (
        <p class="banner warn" role="status" data-testid="tabs-not-shared">
          {t(lang, "tabsNotShared")}
        </p>
      )}
      {snapshot.value === null && !error.value && <p class="muted">{t(lang, "loading")}</p>}
      {phone && snapshot.value && tab.value === "phone" && (
        <PhoneTab
          lang={lang}
          phone={phone}
          snapshot={snapshot.value}
          me={me.value}
          run={run}
          callers={callers}
        />
      )}
      {tab.value === "history" && <HistoryTab lang={lang} api={api} />}
      {phone && me.value && tab.value === "settings" && (
        <SettingsTab lang={lang} phone={phone} api={api} me={me} run={run} />
      )}
    </main>
  );
}
