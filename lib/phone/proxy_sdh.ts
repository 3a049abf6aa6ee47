/**
 * A SIP.js session-description handler that does no media itself: every offer/answer step is
 * forwarded to the tab that owns the call's media, which runs SIP.js's own Web handler
 * (`Web.SessionDescriptionHandler`) on our behalf. Used by the engine in the SharedWorker
 * (no RTCPeerConnection there) and, for uniformity, in the fallback tab host.
 *
 * `hasDescription` and `sendDtmf` are synchronous in SIP.js's interface: the first is answered
 * locally, the second is sent without waiting (the engine's own DTMF path is asynchronous and
 * does not use it).
 *
 * @module
 */
import type {
  BodyAndContentType,
  SessionDescriptionHandler,
  SessionDescriptionHandlerModifier,
  SessionDescriptionHandlerOptions,
} from "sip.js";
import { jsonSafe, type MediaOp } from "./protocol.ts";

/** What the proxy needs from the engine: a request/response channel to the media tab. */
export interface MediaChannel {
  /** Sends `op` to the call's media tab and waits for its answer. */
  request(op: MediaOp, sdhId: string, args: Record<string, unknown>): Promise<unknown>;
  /** Sends `op` without waiting. */
  notify(op: MediaOp, sdhId: string, args: Record<string, unknown>): void;
  /** Called with the remote SDP whenever one is applied (hold detection). */
  onRemoteDescription?(sdp: string): void;
}

let counter = 0;

/** Proxy handler bound to one call; {@link rebind} moves it to a fresh peer connection. */
export class ProxySessionDescriptionHandler implements SessionDescriptionHandler {
  #sdhId: string;
  #closed = false;
  #dtlsClient?: boolean;
  readonly #channel: MediaChannel;

  constructor(channel: MediaChannel) {
    this.#channel = channel;
    this.#sdhId = ProxySessionDescriptionHandler.newId();
  }

  /** Unique id across hosts (the fallback host can move between tabs). */
  static newId(): string {
    return `sdh-${Date.now().toString(36)}-${(++counter).toString(36)}-${
      Math.random().toString(36).slice(2, 6)
    }`;
  }

  /** The id the media tab knows this handler's peer connection by. */
  get sdhId(): string {
    return this.#sdhId;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Whether the media tab's peer connection is the DTLS client (`a=setup:active` in our answer
   * or `a=setup:passive` in the far end's answer); undefined before an answer.
   */
  get dtlsClient(): boolean | undefined {
    return this.#dtlsClient;
  }

  /** Forgets the old peer connection: the next offer is made by a fresh one (media migration). */
  rebind(): void {
    this.#sdhId = ProxySessionDescriptionHandler.newId();
    this.#dtlsClient = undefined;
  }

  async getDescription(
    options?: SessionDescriptionHandlerOptions,
    _modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<BodyAndContentType> {
    this.#assertOpen();
    const value = await this.#channel.request("getDescription", this.#sdhId, {
      options: jsonSafe(options ?? {}),
    }) as BodyAndContentType;
    const setup = sdpSetup(value.body);
    if (setup === "active") this.#dtlsClient = true;
    else if (setup === "passive") this.#dtlsClient = false;
    return { body: value.body, contentType: value.contentType };
  }

  hasDescription(contentType: string): boolean {
    return contentType === "application/sdp";
  }

  async setDescription(
    sdp: string,
    options?: SessionDescriptionHandlerOptions,
    _modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<void> {
    this.#assertOpen();
    await this.#channel.request("setDescription", this.#sdhId, {
      sdp,
      options: jsonSafe(options ?? {}),
    });
    const setup = sdpSetup(sdp);
    if (setup === "active") this.#dtlsClient = false;
    else if (setup === "passive") this.#dtlsClient = true;
    this.#channel.onRemoteDescription?.(sdp);
  }

  sendDtmf(tones: string, options?: unknown): boolean {
    if (this.#closed) return false;
    this.#channel.notify("dtmf", this.#sdhId, { tones, options: jsonSafe(options ?? {}) });
    return true;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#channel.notify("close", this.#sdhId, {});
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("session description handler closed");
  }
}

/** The DTLS `a=setup` value of an SDP. */
export function sdpSetup(sdp: string): "active" | "passive" | "actpass" | undefined {
  return sdp.match(/\r?\na=setup:(active|passive|actpass)\b/)?.[1] as
    | "active"
    | "passive"
    | "actpass"
    | undefined;
}

/** The media direction of the first audio section of an SDP (session-level fallback). */
export function sdpAudioDirection(sdp: string): RTCRtpTransceiverDirection {
  const audio = sdp.split(/\r?\nm=/).find((s) => s.startsWith("audio")) ?? sdp;
  const m = audio.match(/\r?\na=(sendrecv|sendonly|recvonly|inactive)\b/) ??
    sdp.match(/\r?\na=(sendrecv|sendonly|recvonly|inactive)\b/);
  return (m?.[1] as RTCRtpTransceiverDirection | undefined) ?? "sendrecv";
}
