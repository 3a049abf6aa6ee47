/**
 * The media side of a tab: runs SIP.js's own `Web.SessionDescriptionHandler` (one
 * RTCPeerConnection per handler id) for the calls whose media this tab owns, plays remote
 * audio through a hidden `<audio>` element per call, applies mute, device choices and DTMF,
 * and reports statistics.
 *
 * @module
 */
import { Core, Web } from "sip.js";
import type { MediaConfig, MediaOp } from "./protocol.ts";
import { remapExtmap, type SdpCandidate, splitSdpCandidates } from "./proxy_sdh.ts";
import { type DeviceSettings, type MediaStats, PhoneError } from "./types.ts";

interface Handler {
  sdhId: string;
  callId: string;
  sdh: Web.SessionDescriptionHandler;
  audio: HTMLAudioElement;
  dtmfSent: string;
  micId?: string;
  /** The far end's candidates held back from a migration offer (`deferCandidatesMs`). */
  deferred?: {
    candidates: SdpCandidate[];
    delayMs: number;
    timer?: ReturnType<typeof setTimeout>;
  };
}

type SinkableAudio = HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };

/** Options for {@link TabMedia}. */
export interface TabMediaOptions {
  /** Where the hidden `<audio>` elements go. @defaultValue document.body */
  container?: HTMLElement;
  /** Called when a peer connection's ICE state changes (the engine restarts ICE on failure). */
  onIceState?: (callId: string, sdhId: string, state: RTCIceConnectionState) => void;
}

function audioConstraints(devices: DeviceSettings): MediaTrackConstraints | boolean {
  return devices.microphoneId ? { deviceId: { exact: devices.microphoneId } } : true;
}

/** Maps getUserMedia failures to the phone's error codes. */
function mediaError(error: unknown): PhoneError {
  const name = (error as DOMException)?.name ?? "";
  if (name === "NotAllowedError" || name === "SecurityError") {
    return new PhoneError("media-denied", "microphone access was denied");
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return new PhoneError("media-denied", "no microphone is available");
  }
  if (error instanceof PhoneError) return error;
  return new PhoneError("media-failed", (error as Error)?.message ?? String(error));
}

/** Owns this tab's peer connections on behalf of the engine. */
export class TabMedia {
  readonly #handlers = new Map<string, Handler>();
  readonly #container?: HTMLElement;
  readonly #onIceState?: TabMediaOptions["onIceState"];
  readonly #loggerFactory = new Core.LoggerFactory();
  #devices: DeviceSettings = {};

  constructor(options: TabMediaOptions = {}) {
    this.#container = options.container;
    this.#onIceState = options.onIceState;
    this.#loggerFactory.builtinEnabled = false;
    this.#loggerFactory.level = Core.Levels.error;
  }

  /** Runs one media operation from the engine. */
  async run(
    op: MediaOp,
    sdhId: string,
    callId: string,
    args: Record<string, unknown>,
  ): Promise<unknown> {
    const config = args.config as MediaConfig;
    if (config?.devices) this.#devices = config.devices;
    switch (op) {
      case "getDescription": {
        const h = this.#handler(sdhId, callId, config);
        const options = this.#withDevices(args.options as Record<string, unknown>);
        try {
          // A fresh connection keeps the dialog's header extension ids (see proxy_sdh.ts).
          const extmap = args.extmap as Record<string, number> | undefined;
          const modifiers = extmap
            ? [
              (d: RTCSessionDescriptionInit) =>
                Promise.resolve({ ...d, sdp: remapExtmap(d.sdp ?? "", extmap) }),
            ]
            : undefined;
          const description = await h.sdh.getDescription(options, modifiers);
          this.#applyMute(h, config.muted);
          if (h.deferred && !h.deferred.timer) {
            h.deferred.timer = setTimeout(
              () => this.#addDeferredCandidates(h),
              h.deferred.delayMs,
            );
          }
          return description;
        } catch (error) {
          throw mediaError(error);
        }
      }
      case "setDescription": {
        const h = this.#handler(sdhId, callId, config);
        const options = this.#withDevices(args.options as Record<string, unknown>);
        let sdp = args.sdp as string;
        const deferMs = args.deferCandidatesMs;
        if (typeof deferMs === "number" && !h.sdh.peerConnection?.remoteDescription) {
          // Migration answered by a fresh connection: hold the far end's candidates back until
          // our answer is on its way (the far end's own check, or deferMs after the answer has
          // left, releases them). See ProxySessionDescriptionHandler.rebind.
          const split = splitSdpCandidates(sdp);
          if (split.candidates.length) {
            sdp = split.sdp;
            h.deferred = { candidates: split.candidates, delayMs: deferMs };
          }
        }
        try {
          const pc = h.sdh.peerConnection;
          if (args.iceControlling && pc && !pc.remoteDescription && !pc.localDescription) {
            // Answering in place of the call's offerer: keep its (controlling) ICE role. A peer
            // connection's role is fixed by its first local description, so set an empty offer
            // and roll it back before applying the far end's offer.
            try {
              await pc.setLocalDescription(await pc.createOffer());
            } catch { /* keep the answerer's role */ }
            if (pc.signalingState !== "stable") {
              await pc.setLocalDescription({ type: "rollback" });
            }
          }
          await h.sdh.setDescription(sdp, options);
        } catch (error) {
          throw mediaError(error);
        }
        this.#attach(h);
        this.#applyMute(h, config.muted);
        return true;
      }
      case "dtmf": {
        const h = this.#handlers.get(sdhId);
        if (!h) return false;
        const sender = h.sdh.peerConnection?.getSenders().find((s) => s.track?.kind === "audio");
        const dtmf = sender?.dtmf;
        if (!dtmf || !dtmf.canInsertDTMF) return false;
        dtmf.insertDTMF(String(args.tones), 100, 70);
        return true;
      }
      case "iceState": {
        return this.#handlers.get(sdhId)?.sdh.peerConnection?.iceConnectionState ?? "closed";
      }
      case "mute": {
        const h = this.#handlers.get(sdhId);
        if (h) this.#applyMute(h, Boolean(args.on));
        return true;
      }
      case "close": {
        this.#close(sdhId);
        return true;
      }
    }
  }

  /** Calls whose media is here. */
  get callIds(): string[] {
    return [...new Set([...this.#handlers.values()].map((h) => h.callId))];
  }

  /** Applies new device settings to live calls (microphone switch, speaker sink). */
  async applyDevices(devices: DeviceSettings): Promise<void> {
    const previous = this.#devices;
    this.#devices = devices;
    for (const h of this.#handlers.values()) {
      if (devices.speakerId !== previous.speakerId) await this.#setSink(h.audio);
      if (devices.microphoneId !== previous.microphoneId) {
        const pc = h.sdh.peerConnection;
        const sender = pc?.getSenders().find((s) => s.track?.kind === "audio");
        if (!sender) continue;
        const stream = await navigator.mediaDevices.getUserMedia({
          audio: audioConstraints(devices),
        }).catch(() => undefined);
        const track = stream?.getAudioTracks()[0];
        if (!track) continue;
        track.enabled = sender.track?.enabled ?? true;
        const old = sender.track;
        await sender.replaceTrack(track);
        old?.stop();
      }
    }
  }

  /** Statistics of the newest peer connection of a call, or null if its media is not here. */
  async stats(callId: string): Promise<MediaStats | null> {
    const h = [...this.#handlers.values()].reverse().find((x) => x.callId === callId);
    const pc = h?.sdh.peerConnection;
    if (!h || !pc) return null;
    const report = await pc.getStats();
    const out: MediaStats = {
      iceConnectionState: pc.iceConnectionState,
      bytesReceived: 0,
      bytesSent: 0,
      packetsReceived: 0,
      packetsSent: 0,
      totalAudioEnergy: 0,
      directions: pc.getTransceivers().map((t) => t.currentDirection ?? null),
      dtmfSent: h.dtmfSent,
    };
    // deno-lint-ignore no-explicit-any
    const byId = new Map<string, any>();
    // deno-lint-ignore no-explicit-any
    report.forEach((s: any) => byId.set(s.id, s));
    let pairId: string | undefined;
    for (const s of byId.values()) {
      if (s.type === "inbound-rtp" && s.kind === "audio") {
        out.bytesReceived += s.bytesReceived ?? 0;
        out.packetsReceived += s.packetsReceived ?? 0;
        out.totalAudioEnergy += s.totalAudioEnergy ?? 0;
      } else if (s.type === "outbound-rtp" && s.kind === "audio") {
        out.bytesSent += s.bytesSent ?? 0;
        out.packetsSent += s.packetsSent ?? 0;
      } else if (s.type === "transport" && s.selectedCandidatePairId) {
        pairId = s.selectedCandidatePairId;
      }
    }
    // Firefox has no transport stats: its pair in use says `selected` (non-standard); a nominated
    // pair left over from before an ICE restart may still read succeeded.
    if (!pairId) {
      for (const s of byId.values()) {
        if (s.type === "candidate-pair" && s.selected === true) pairId = s.id;
      }
    }
    if (!pairId) {
      for (const s of byId.values()) {
        if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pairId = s.id;
      }
    }
    const pair = pairId ? byId.get(pairId) : undefined;
    if (pair) {
      // deno-lint-ignore no-explicit-any
      const describe = (c: any) => ({
        address: c?.address ?? c?.ip,
        port: c?.port,
        protocol: c?.protocol,
        candidateType: c?.candidateType,
      });
      out.selectedPair = {
        local: describe(byId.get(pair.localCandidateId)),
        remote: describe(byId.get(pair.remoteCandidateId)),
      };
    }
    return out;
  }

  /** Closes every peer connection (the tab is going away). */
  closeAll(): void {
    for (const id of [...this.#handlers.keys()]) this.#close(id);
  }

  #handler(sdhId: string, callId: string, config: MediaConfig): Handler {
    let h = this.#handlers.get(sdhId);
    if (h) return h;
    // A new handler for a call that had one here before (media moved back): drop the old one.
    for (const old of [...this.#handlers.values()]) {
      if (old.callId === callId) this.#close(old.sdhId);
    }
    const sdh = new Web.SessionDescriptionHandler(
      this.#loggerFactory.getLogger("sip.SessionDescriptionHandler"),
      Web.defaultMediaStreamFactory(),
      {
        iceGatheringTimeout: config.iceGatheringTimeoutMs,
        peerConnectionConfiguration: {
          iceServers: config.iceServers,
          bundlePolicy: "balanced",
          rtcpMuxPolicy: "require",
        },
      },
    );
    const audio = document.createElement("audio") as SinkableAudio;
    audio.autoplay = true;
    audio.hidden = true;
    audio.dataset.callId = callId;
    (this.#container ?? document.body).appendChild(audio);
    h = { sdhId, callId, sdh, audio, dtmfSent: "" };
    const handler = h;
    sdh.peerConnectionDelegate = {
      ontrack: () => this.#attach(handler),
      oniceconnectionstatechange: () => {
        const state = handler.sdh.peerConnection?.iceConnectionState;
        // The far end's first check arrived: it has our answer, our checks are welcome now.
        if (handler.deferred && state && state !== "new") this.#addDeferredCandidates(handler);
        if (state && this.#handlers.get(sdhId) === handler) {
          this.#onIceState?.(callId, sdhId, state);
        }
      },
    };
    this.#handlers.set(sdhId, h);
    this.#setSink(audio).catch(() => {});
    return h;
  }

  #addDeferredCandidates(h: Handler): void {
    const deferred = h.deferred;
    if (!deferred) return;
    h.deferred = undefined;
    clearTimeout(deferred.timer);
    const pc = h.sdh.peerConnection;
    if (!pc || pc.signalingState === "closed" || this.#handlers.get(h.sdhId) !== h) return;
    for (const c of deferred.candidates) pc.addIceCandidate(c).catch(() => {});
  }

  #withDevices(options: Record<string, unknown> | undefined): Record<string, unknown> {
    return {
      ...(options ?? {}),
      constraints: { audio: audioConstraints(this.#devices), video: false },
    };
  }

  #attach(h: Handler): void {
    const stream = h.sdh.remoteMediaStream;
    if (h.audio.srcObject !== stream) h.audio.srcObject = stream;
    h.audio.play().catch(() => {});
    const sender = h.sdh.peerConnection?.getSenders().find((s) => s.track?.kind === "audio");
    if (sender?.dtmf && !sender.dtmf.ontonechange) {
      sender.dtmf.ontonechange = (e) => {
        if (e.tone) h.dtmfSent += e.tone;
      };
    }
  }

  async #setSink(audio: SinkableAudio): Promise<void> {
    const id = this.#devices.speakerId;
    if (typeof audio.setSinkId === "function") await audio.setSinkId(id ?? "");
  }

  #applyMute(h: Handler, muted: boolean): void {
    h.sdh.peerConnection?.getSenders().forEach((s) => {
      if (s.track && s.track.kind === "audio") s.track.enabled = !muted;
    });
  }

  #close(sdhId: string): void {
    const h = this.#handlers.get(sdhId);
    if (!h) return;
    this.#handlers.delete(sdhId);
    clearTimeout(h.deferred?.timer);
    h.deferred = undefined;
    try {
      h.sdh.close();
    } catch { /* already closed */ }
    h.audio.srcObject = null;
    h.audio.remove();
  }
}
