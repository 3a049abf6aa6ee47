import { useSignal } from "@preact/signals";
import { useEffect, useRef } from "preact/hooks";
import { type Lang, t } from "../../lib/shared/i18n.ts";
import { normalizeNumber } from "../../lib/shared/dial.ts";
import { accountOf, type Me } from "../../lib/browser/phone_session.ts";
import type { CallInfo, PhoneClient, PhoneSnapshot } from "../../lib/browser/phone/client.ts";
import { PhoneError } from "../../lib/browser/phone/types.ts";
import { type CallOutcome, callOutcome, isProblem } from "../../lib/browser/call_outcome.ts";
import { keyAction, type KeyTarget } from "../../lib/browser/phone_keys.ts";
import { answerCall, CallCard, type CallerSource, EndedCallCard, withKeys } from "./CallCard.tsx";
import { Icon } from "./Icon.tsx";
import { Keypad } from "./Keypad.tsx";
import type { RunCommand } from "./types.ts";

/** How long an ended call stays on the panel: a normal end briefly, a problem long enough to read. */
const ENDED_SHOW_MS = 4000;
const PROBLEM_SHOW_MS = 10_000;

interface Ended {
  call: CallInfo;
  outcome: CallOutcome;
}

/** The dial pad and the live calls; the whole page's keyboard while it is shown. */
export function PhoneTab({ lang, phone, snapshot, me, run, callers }: {
  lang: Lang;
  phone: PhoneClient;
  snapshot: PhoneSnapshot;
  me: Me | null;
  run: RunCommand;
  /** CRM look-ups of incoming callers. */
  callers?: CallerSource;
}) {
  const number = useSignal("");
  const ended = useSignal<Ended[]>([]);
  const dtmf = useSignal<Record<string, string>>({});
  const mic = useSignal<PermissionState | "unknown">("unknown");
  const notify = useSignal(typeof Notification === "function" ? Notification.permission : "denied");
  const input = useRef<HTMLInputElement>(null);
  // Ended calls already shown (the engine keeps them in snapshots a while after the panel).
  const seenEnded = useRef(new Set<string>());
  const live = snapshot.calls.filter((c) => c.state !== "ended");
  const canCall = snapshot.registration.state === "registered";

  const dial = (to = number.value) => {
    const target = normalizeNumber(to);
    if (!target) return;
    // Offline, say why no call starts (a PBX may even take an INVITE from an unregistered phone,
    // and refuse it with a 403 that reads as a forbidden number).
    if (!canCall) run(Promise.reject(new PhoneError("not-registered", "not registered")));
    else run(phone.call(target).then(() => number.value = ""));
  };
  const sendDtmf = (callId: string, key: string) => {
    dtmf.value = { ...dtmf.value, [callId]: (dtmf.value[callId] ?? "") + key };
    run(phone.dtmf(callId, key));
  };
  const dismiss = (id: string) => ended.value = ended.value.filter((e) => e.call.id !== id);

  // The latest values for the document's key listener (registered once).
  const latest = useRef({ live, dial, sendDtmf });
  latest.current = { live, dial, sendDtmf };

  useEffect(() => input.current?.focus(), []);

  // Microphone permission up front: a blocked microphone is said before the first call.
  useEffect(() => {
    let status: PermissionStatus | undefined;
    navigator.permissions?.query({ name: "microphone" as PermissionName }).then((s) => {
      status = s;
      mic.value = s.state;
      s.onchange = () => mic.value = s.state;
    }).catch(() => {});
    return () => status && (status.onchange = null);
  }, []);

  // Calls that end stay on the panel with why, for a few seconds.
  useEffect(() => {
    const fresh = snapshot.calls
      .filter((c) => c.state === "ended" && !seenEnded.current.has(c.id))
      .map((call) => ({ call, outcome: callOutcome(call, snapshot.connection) }));
    if (!fresh.length) return;
    for (const e of fresh) seenEnded.current.add(e.call.id);
    // Only the latest calls are worth a word: one that began after an older end replaces it.
    const newest = Math.max(...fresh.map((e) => e.call.startedAt));
    ended.value = [...ended.value.filter((e) => (e.call.endedAt ?? 0) >= newest), ...fresh];
    for (const e of fresh) {
      if (e.outcome === "mic-blocked") mic.value = "denied";
      // A wrong number goes back to the field, to be corrected rather than typed again.
      if (e.outcome === "not-found" && !number.value) number.value = e.call.number;
      setTimeout(() => dismiss(e.call.id), isProblem(e.outcome) ? PROBLEM_SHOW_MS : ENDED_SHOW_MS);
    }
    // Back to dialling: the number field takes the keyboard again.
    if (!live.length && !document.activeElement?.closest("input, select, textarea")) {
      input.current?.focus();
    }
  }, [snapshot]);

  // A call that connects takes the keyboard from an empty number field: digits become tones.
  const talkingId = live.find((c) => c.state === "connected")?.id;
  // A call with audio proves the microphone works, whatever the permission query said.
  if (talkingId && mic.value === "denied") mic.value = "granted";
  useEffect(() => {
    if (talkingId && document.activeElement === input.current && !number.value) {
      document.querySelector<HTMLElement>(`[data-call-id="${talkingId}"]`)?.focus();
    }
  }, [talkingId]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const el = e.target instanceof HTMLElement ? e.target : null;
      const target: KeyTarget = el && el === input.current
        ? "number"
        : el?.closest("input, textarea, select, [contenteditable=true]")
        ? "field"
        : el?.closest("button, a, [role=tab]")
        ? "control"
        : "page";
      const { live, dial, sendDtmf } = latest.current;
      const action = keyAction(
        { key: e.key, target, modified: e.ctrlKey || e.metaKey || e.altKey },
        live,
      );
      if (action.kind === "none") return;
      e.preventDefault();
      switch (action.kind) {
        case "append":
          number.value += action.key;
          input.current?.focus();
          break;
        case "backspace":
          number.value = number.value.slice(0, -1);
          input.current?.focus();
          break;
        case "dial":
          dial();
          break;
        case "dtmf":
          sendDtmf(action.callId, action.key);
          break;
        case "answer":
          run(answerCall(phone, action.callId));
          break;
        case "decline":
          run(phone.reject(action.callId, 603));
          break;
        case "hangup":
          run(phone.hangup(action.callId));
          break;
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, []);

  if (me && !accountOf(me)) return <p class="card empty">{t(lang, "noAccountUser")}</p>;
  // A newer call replaces what the panel said about the last one.
  const shownEnded = ended.value.filter((e) =>
    !live.some((c) => c.id === e.call.id || c.startedAt >= (e.call.endedAt ?? 0))
  );
  return (
    <>
      {mic.value === "denied" && (
        <p class="banner error" role="alert" data-testid="mic-blocked">{t(lang, "micBlocked")}</p>
      )}
      <div class="phone-grid">
        <section class="card dialer" aria-label={t(lang, "number")}>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              dial();
            }}
          >
            <label class="field">
              <span>{t(lang, "number")}</span>
              <input
                ref={input}
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
              title={t(lang, "callHint")}
              disabled={!canCall || !normalizeNumber(number.value)}
            >
              <Icon name="call" />
              {t(lang, "call")}
            </button>
            <p class="hint">{withKeys(t(lang, "keyboardHint"))}</p>
          </form>
        </section>
        <section class="calls">
          {live.length === 0 && shownEnded.length === 0 && (
            <div class="card calls-empty">
              <strong>{t(lang, "noCalls")}</strong>
              <div>{me?.account?.sipUri}</div>
              {notify.value === "default" && (
                <button
                  type="button"
                  class="secondary small"
                  data-testid="notify-enable"
                  onClick={() =>
                    Notification.requestPermission().then((p) => notify.value = p).catch(() => {})}
                >
                  {t(lang, "notifyEnable")}
                </button>
              )}
            </div>
          )}
          {live.map((call) => (
            <div key={call.id} data-call-id={call.id} tabIndex={-1} class="call-slot">
              <CallCard
                lang={lang}
                phone={phone}
                call={call}
                run={run}
                callers={callers}
                dtmf={dtmf.value[call.id] ?? ""}
                onDtmf={(k) =>
                  sendDtmf(call.id, k)}
              />
            </div>
          ))}
          {shownEnded.map(({ call, outcome }) => (
            <EndedCallCard
              key={call.id}
              lang={lang}
              call={call}
              outcome={outcome}
              canRedial={canCall}
              onClose={() => dismiss(call.id)}
              onRedial={() => {
                dismiss(call.id);
                dial(call.number);
              }}
            />
          ))}
        </section>
      </div>
    </>
  );
}
