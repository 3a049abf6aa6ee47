import { type Signal, useSignal } from "@preact/signals";
import { type Lang, t, type TextKey } from "../../lib/shared/i18n.ts";
import type { Me } from "../../lib/browser/phone_session.ts";
import type { PhoneClient } from "../../lib/browser/phone/client.ts";

type Check = "idle" | "running" | "ok" | "fail";

/** The connection test: the PBX's WebSocket, the registration, the microphone's level. */
export function SelfTest({ lang, phone, me }: { lang: Lang; phone: PhoneClient; me: Me }) {
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
