// The employee's phone on the app page: status, dial pad, calls, history, devices and self-test.
import { type Signal, useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { type Lang, t, type TextKey } from "../lib/shared/i18n.ts";
import { ApiError, FrameApi, type FrameAuth } from "../lib/browser/frame_api.ts";
import { accountOf, type Me, startPhoneSession } from "../lib/browser/phone_session.ts";
import { formatDuration, normalizeNumber } from "../lib/shared/dial.ts";
import type {
  AudioDevices,
  CallInfo,
  PhoneClient,
  PhoneSnapshot,
} from "../lib/browser/phone/client.ts";
import { AccountFields } from "../components/AccountFields.tsx";
import { Tabs } from "../components/Tabs.tsx";

/** Props of the phone island. */
export interface PhoneProps {
  /** UI language. */
  lang: Lang;
  /** The frame's credentials for the app's APIs. */
  auth: FrameAuth;
}

type Tab = "phone" | "history" | "settings";

interface HistoryRow {
  id: string;
  direction: "inbound" | "outbound";
  number: string;
  startedAt: string;
  answeredAt: string | null;
  durationSec: number | null;
  /** Why it failed, in words (a click-to-call the phone could not dial). */
  failedReason: string | null;
  syncState: string;
}

const KEYS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"];

const STATE_TEXT: Record<string, TextKey> = {
  dialing: "stateDialing",
  ringing: "stateRinging",
  incoming: "stateIncoming",
  connecting: "stateConnecting",
  connected: "stateConnected",
  held: "stateHeld",
  ending: "stateEnding",
  ended: "stateEnded",
};

const REG_ERROR_TEXT: Record<string, TextKey> = {
  "bad-credentials": "errBadCredentials",
  unreachable: "errUnreachable",
  rejected: "errRejected",
  "invalid-account": "errInvalidAccount",
};

export default function Phone({ lang, auth }: PhoneProps) {
  const tab = useSignal<Tab>("phone");
  const snapshot = useSignal<PhoneSnapshot | null>(null);
  const me = useSignal<Me | null>(null);
  const error = useSignal<string>("");
  const phoneRef = useRef<PhoneClient | null>(null);
  const apiRef = useRef<FrameApi | null>(null);
  const tx = (key: TextKey) => t(lang, key);

  useEffect(() => {
    const api = new FrameApi(auth);
    apiRef.current = api;
    startPhoneSession(api).then(({ phone, me: who }) => {
      phoneRef.current = phone;
      me.value = who;
      snapshot.value = phone.state;
      phone.stateChange.addListener((s) => snapshot.value = s);
    }).catch(() => error.value = tx("errorGeneric"));
  }, []);

  const phone = phoneRef.current;
  const run = (work: Promise<unknown>) =>
    work.catch((e: Error & { code?: string }) =>
      error.value = e.code === "media-denied"
        ? tx("errMicrophone")
        : e.message || tx("errorGeneric")
    );

  return (
    <main class="phone-app" aria-busy={snapshot.value === null}>
      <header class="app-header">
        <h1>{tx("appTitle")}</h1>
        <Status lang={lang} snapshot={snapshot.value} me={me.value} />
      </header>
      <Tabs
        active={tab}
        tabs={[
          ["phone", tx("tabPhone")],
          ["history", tx("tabHistory")],
          ["settings", tx("tabSettings")],
        ]}
      />
      {error.value && (
        <p class="banner error" role="alert">
          {error.value}
          <button type="button" class="link" onClick={() => error.value = ""} aria-label="×">
            ×
          </button>
        </p>
      )}
      {snapshot.value?.canPlaySound === false && (
        <p class="banner warn" role="status" data-testid="sound-blocked">
          {tx("soundBlockedHere")}
        </p>
      )}
      {snapshot.value === null && !error.value && <p class="muted">{tx("loading")}</p>}
      {phone && snapshot.value && tab.value === "phone" && (
        <PhoneTab lang={lang} phone={phone} snapshot={snapshot.value} me={me.value} run={run} />
      )}
      {apiRef.current && tab.value === "history" && <HistoryTab lang={lang} api={apiRef.current} />}
      {phone && apiRef.current && me.value && tab.value === "settings" && (
        <SettingsTab lang={lang} phone={phone} api={apiRef.current} me={me} run={run} />
      )}
    </main>
  );
}

function Status({ lang, snapshot, me }: {
  lang: Lang;
  snapshot: PhoneSnapshot | null;
  me: Me | null;
}) {
  if (!snapshot || !me) return <span class="pill">{t(lang, "loading")}</span>;
  if (!accountOf(me)) return <span class="pill off">{t(lang, "regNoAccount")}</span>;
  const reg = snapshot.registration;
  const label: Record<string, TextKey> = {
    registered: "regRegistered",
    registering: "regRegistering",
    unregistered: "regUnregistered",
    failed: "regFailed",
  };
  const reason = reg.error ? REG_ERROR_TEXT[reg.error.code] : undefined;
  return (
    <span class="status" data-testid="registration" data-state={reg.state}>
      <span class={`pill ${reg.state}`}>{t(lang, label[reg.state] ?? "regUnregistered")}</span>
      {reason && <span class="status-reason">{t(lang, reason)}</span>}
    </span>
  );
}

function PhoneTab({ lang, phone, snapshot, me, run }: {
  lang: Lang;
  phone: PhoneClient;
  snapshot: PhoneSnapshot;
  me: Me | null;
  run: (p: Promise<unknown>) => void;
}) {
  const number = useSignal("");
  const live = snapshot.calls.filter((c) => c.state !== "ended");
  const canCall = snapshot.registration.state === "registered";
  if (me && !accountOf(me)) return <p class="card empty">{t(lang, "noAccountUser")}</p>;
  const dial = () => {
    const target = normalizeNumber(number.value);
    if (target) run(phone.call(target).then(() => number.value = ""));
  };
  return (
    <div class="phone-grid">
      <section class="card dialer" aria-label={t(lang, "keypad")}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            dial();
          }}
        >
          <label class="field">
            <span>{t(lang, "number")}</span>
            <input
              type="tel"
              name="number"
              autocomplete="tel"
              placeholder={t(lang, "numberPlaceholder")}
              value={number}
              onInput={(e) => number.value = (e.target as HTMLInputElement).value}
            />
          </label>
          <Keypad onKey={(k) => number.value += k} />
          <button
            type="submit"
            class="call-button"
            disabled={!canCall || !normalizeNumber(number.value)}
          >
            {t(lang, "call")}
          </button>
        </form>
      </section>
      <section class="calls" aria-live="polite">
        {live.length === 0 && (
          <div class="card calls-empty">
            <strong>{t(lang, "noCalls")}</strong>
            {me?.account?.sipUri}
          </div>
        )}
        {live.map((call) => (
          <CallCard key={call.id} lang={lang} phone={phone} call={call} run={run} />
        ))}
      </section>
    </div>
  );
}

function Keypad({ onKey }: { onKey: (key: string) => void }) {
  return (
    <div class="keypad">
      {KEYS.map((k) => (
        <button
          type="button"
          key={k}
          class="key"
          onClick={() => onKey(k)}
          aria-label={k}
        >
          {k}
        </button>
      ))}
    </div>
  );
}

function CallCard({ lang, phone, call, run }: {
  lang: Lang;
  phone: PhoneClient;
  call: CallInfo;
  run: (p: Promise<unknown>) => void;
}) {
  const panel = useSignal<"" | "keypad" | "transfer">("");
  const target = useSignal("");
  const now = useSignal(Date.now());
  useEffect(() => {
    const timer = setInterval(() => now.value = Date.now(), 1000);
    return () => clearInterval(timer);
  }, []);
  const incoming = call.state === "incoming";
  const talking = call.state === "connected" || call.state === "held";
  return (
    <article class={`card call ${call.state}`} data-testid="call" data-state={call.state}>
      <div class="call-head">
        <div>
          <div class="call-number">{call.displayName || call.number}</div>
          <div class="muted">
            {t(lang, STATE_TEXT[call.state] ?? "stateConnected")}
            {call.answeredAt &&
              ` · ${formatDuration((now.value - call.answeredAt) / 1000)}`}
          </div>
        </div>
      </div>
      <div class="call-actions">
        {incoming && (
          <>
            <button type="button" class="answer" onClick={() => run(phone.answer(call.id))}>
              {t(lang, "answer")}
            </button>
            <button type="button" class="danger" onClick={() => run(phone.reject(call.id, 603))}>
              {t(lang, "decline")}
            </button>
          </>
        )}
        {talking && (
          <>
            <button
              type="button"
              class="secondary"
              aria-pressed={call.muted}
              onClick={() => run(phone.mute(call.id, !call.muted))}
            >
              {t(lang, call.muted ? "unmute" : "mute")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-pressed={call.held}
              onClick={() => run(phone.hold(call.id, !call.held))}
            >
              {t(lang, call.held ? "resume" : "hold")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-expanded={panel.value === "keypad"}
              onClick={() => panel.value = panel.value === "keypad" ? "" : "keypad"}
            >
              {t(lang, "keypad")}
            </button>
            <button
              type="button"
              class="secondary"
              aria-expanded={panel.value === "transfer"}
              onClick={() => panel.value = panel.value === "transfer" ? "" : "transfer"}
            >
              {t(lang, "transfer")}
            </button>
          </>
        )}
        {!incoming && (
          <button
            type="button"
            class="danger"
            onClick={() => run(phone.hangup(call.id))}
          >
            {t(lang, "hangup")}
          </button>
        )}
      </div>
      {panel.value === "keypad" && <Keypad onKey={(k) => run(phone.dtmf(call.id, k))} />}
      {panel.value === "transfer" && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            const to = normalizeNumber(target.value);
            if (to) run(phone.transfer(call.id, to));
          }}
        >
          <label class="field">
            <span>{t(lang, "transferTo")}</span>
            <input
              type="tel"
              value={target}
              onInput={(e) => target.value = (e.target as HTMLInputElement).value}
            />
          </label>
          <button type="submit">{t(lang, "transferDo")}</button>
        </form>
      )}
    </article>
  );
}

function HistoryTab({ lang, api }: { lang: Lang; api: FrameApi }) {
  const rows = useSignal<HistoryRow[] | null>(null);
  const failed = useSignal(false);
  const load = () => {
    failed.value = false;
    api.history<{ calls: HistoryRow[] }>().then((r) => rows.value = r.calls).catch(() =>
      failed.value = true
    );
  };
  useEffect(load, []);
  const fmt = new Intl.DateTimeFormat(lang, { dateStyle: "short", timeStyle: "short" });
  return (
    <section class="card history">
      <div class="card-header">
        <h2>{t(lang, "tabHistory")}</h2>
        <button type="button" class="secondary" onClick={load}>{t(lang, "refresh")}</button>
      </div>
      {failed.value && <p class="banner error">{t(lang, "errorGeneric")}</p>}
      {rows.value === null && !failed.value && <p class="muted">{t(lang, "loading")}</p>}
      {rows.value?.length === 0 && <p class="muted">{t(lang, "historyEmpty")}</p>}
      {rows.value && rows.value.length > 0 && (
        <table class="table">
          <tbody>
            {rows.value.map((row) => {
              const kind: TextKey = row.answeredAt
                ? (row.direction === "inbound" ? "historyIn" : "historyOut")
                : (row.direction === "inbound" ? "historyMissed" : "historyFailed");
              return (
                <tr key={row.id} class={row.answeredAt ? "" : "missed"}>
                  <td>
                    <span class={`dir ${row.direction}`} aria-hidden="true">
                      {row.direction === "inbound" ? "↙" : "↗"}
                    </span>{" "}
                    {t(lang, kind)}
                    {row.failedReason && <div class="muted reason">{row.failedReason}</div>}
                  </td>
                  <td class="num">{row.number}</td>
                  <td class="muted">{fmt.format(new Date(row.startedAt))}</td>
                  <td class="muted">
                    {row.answeredAt ? formatDuration(row.durationSec ?? 0) : ""}
                  </td>
                  <td class="muted">
                    {row.syncState === "pending" ? t(lang, "historySyncPending") : ""}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SettingsTab({ lang, phone, api, me, run }: {
  lang: Lang;
  phone: PhoneClient;
  api: FrameApi;
  me: Signal<Me | null>;
  run: (p: Promise<unknown>) => void;
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

function DeviceSelect({ label, defaultLabel, devices, value, disabled, onChange, children }: {
  label: string;
  defaultLabel: string;
  devices: MediaDeviceInfo[];
  value?: string;
  disabled?: boolean;
  onChange: (deviceId: string | undefined) => void;
  children?: ComponentChildren;
}) {
  return (
    <label class="field">
      <span>{label}</span>
      <select
        disabled={disabled}
        value={value ?? ""}
        onChange={(e) => onChange((e.target as HTMLSelectElement).value || undefined)}
      >
        <option value="">{defaultLabel}</option>
        {devices.map((d) => (
          <option value={d.deviceId} key={d.deviceId}>{d.label || d.deviceId}</option>
        ))}
      </select>
      {children}
    </label>
  );
}

type Check = "idle" | "running" | "ok" | "fail";

function SelfTest({ lang, phone, me }: { lang: Lang; phone: PhoneClient; me: Me }) {
  const ws = useSignal<Check>("idle");
  const reg = useSignal<Check>("idle");
  const mic = useSignal<Check>("idle");
  const level = useSignal(0);
  const start = async () => {
    ws.value = reg.value = mic.value = "running";
    const url = me.account?.wsUrl;
    ws.value = url ? await probeWebSocket(url) : "fail";
    reg.value = phone.state.registration.state === "registered" ? "ok" : "fail";
    try {
      level.value = await microphoneLevel();
      mic.value = level.value > 0 ? "ok" : "fail";
    } catch {
      mic.value = "fail";
    }
  };
  const row = (label: TextKey, check: Signal<Check>, extra?: string) => (
    <li data-check={check.value}>
      <span>{t(lang, label)}</span>
      <span class={`check ${check.value}`}>
        {check.value === "running"
          ? t(lang, "testRunning")
          : check.value === "ok"
          ? t(lang, "testOk")
          : check.value === "fail"
          ? t(lang, "testFail")
          : ""}
        {extra}
      </span>
    </li>
  );
  return (
    <section class="card self-test">
      <div class="card-header">
        <h2>{t(lang, "selfTest")}</h2>
        <button type="button" class="secondary" onClick={start}>{t(lang, "selfTestRun")}</button>
      </div>
      <ul class="checks">
        {row("testWebsocket", ws)}
        {row("testRegistration", reg)}
        {row(
          "testMicrophone",
          mic,
          mic.value === "ok" ? ` · ${Math.round(level.value * 100)}%` : "",
        )}
      </ul>
    </section>
  );
}

/** Opens the PBX WebSocket with the SIP subprotocol and closes it. */
function probeWebSocket(url: string): Promise<Check> {
  return new Promise((resolve) => {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, "sip");
    } catch {
      return resolve("fail");
    }
    const timer = setTimeout(() => {
      socket.close();
      resolve("fail");
    }, 5000);
    socket.onopen = () => {
      clearTimeout(timer);
      socket.close();
      resolve("ok");
    };
    socket.onerror = () => {
      clearTimeout(timer);
      resolve("fail");
    };
  });
}

/**
 * Peak microphone level (0..1): listens for up to three seconds and stops as soon as the
 * microphone picks up sound (a quiet room, or a pause in speech, must not read as broken).
 */
async function microphoneLevel(): Promise<number> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const context = new AudioContext();
  try {
    const analyser = context.createAnalyser();
    context.createMediaStreamSource(stream).connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    let peak = 0;
    for (let i = 0; i < 60 && peak < 0.01; i++) {
      await new Promise((r) => setTimeout(r, 50));
      analyser.getFloatTimeDomainData(data);
      for (const v of data) peak = Math.max(peak, Math.abs(v));
    }
    return Math.min(1, peak);
  } finally {
    stream.getTracks().forEach((track) => track.stop());
    await context.close();
  }
}

function OwnAccount({ lang, api, me, phone, run }: {
  lang: Lang;
  api: FrameApi;
  me: Signal<Me | null>;
  phone: PhoneClient;
  run: (p: Promise<unknown>) => void;
}) {
  const account = me.value?.account;
  const status = useSignal("");
  const save = async (form: HTMLFormElement) => {
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    status.value = t(lang, "saving");
    try {
      await api.widget({
        event: "SAVEUSERDATA",
        userId: me.value!.userId,
        url: data.url,
        user: data.user,
        ...(data.password ? { password: data.password } : {}),
        ...(data.sipUri ? { sipUri: data.sipUri } : {}),
        displayName: data.displayName,
      });
      me.value = await api.widget<Me>({ event: "GETME" });
      const next = accountOf(me.value);
      if (next) run(phone.register(next));
      status.value = t(lang, "saved");
    } catch (e) {
      status.value = e instanceof ApiError ? e.message : t(lang, "errorGeneric");
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
        <AccountFields lang={lang} account={account ?? null} />
        <div class="form-actions">
          <button type="submit">{t(lang, "save")}</button>
          <span class="muted" aria-live="polite">{status}</span>
        </div>
      </form>
    </section>
  );
}
