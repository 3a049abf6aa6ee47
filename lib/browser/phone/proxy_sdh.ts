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
import { type Clock, realClock } from "./clock.ts";
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

/** Shortest hold on the far end's candidates after a migration answer has left, ms. */
export const DEFER_CANDIDATES_MIN_MS = 40;
/** Longest such hold (a far end that cannot reach us first waits this long for our checks). */
export const DEFER_CANDIDATES_MAX_MS = 400;

let counter = 0;

/** Proxy handler bound to one call; {@link rebind} moves it to a fresh peer connection. */
export class ProxySessionDescriptionHandler implements SessionDescriptionHandler {
  #sdhId: string;
  #closed = false;
  #dtlsClient?: boolean;
  /** The last rebind's options, until the next remote description is applied. */
  #rebound?: { iceControlling?: boolean; deferRemoteCandidates?: boolean; at: number };
  /** RTP header extension ids of this call's dialog (URI → id), from every SDP either way. */
  readonly #extmap = new Map<string, number>();
  /** A rebind happened and the fresh connection has not made a description yet. */
  #freshConnection = false;
  readonly #channel: MediaChannel;
  readonly #clock: Pick<Clock, "now">;

  /** `clock` times the hold on the far end's candidates after a {@link rebind}. */
  constructor(channel: MediaChannel, clock: Pick<Clock, "now"> = realClock) {
    this.#channel = channel;
    this.#clock = clock;
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

  /**
   * Forgets the old peer connection: the next offer/answer is made by a fresh one (media
   * migration). Options for a fresh connection that will answer the far end's offer:
   * - `iceControlling`: it takes the controlling ICE role (the far end's role is unchanged, so
   *   this continues the dead connection's role when that one was the call's offerer);
   * - `deferRemoteCandidates`: it applies the offer without the far end's candidates and adds
   *   them only after its answer has left, so that its first connectivity checks cannot reach
   *   the far end before the answer (with the new ICE credentials) does. They are added at the
   *   far end's own first check, or after as long as the offer took to arrive since the rebind
   *   (a signalling round trip, which the answer's one way fits in), bounded by
   *   {@link DEFER_CANDIDATES_MIN_MS} and {@link DEFER_CANDIDATES_MAX_MS}.
   */
  rebind(options: { iceControlling?: boolean; deferRemoteCandidates?: boolean } = {}): void {
    this.#sdhId = ProxySessionDescriptionHandler.newId();
    this.#dtlsClient = undefined;
    this.#freshConnection = true;
    const fresh = options.iceControlling || options.deferRemoteCandidates;
    this.#rebound = fresh ? { ...options, at: this.#clock.now() } : undefined;
  }

  async getDescription(
    options?: SessionDescriptionHandlerOptions,
    _modifiers?: SessionDescriptionHandlerModifier[],
  ): Promise<BodyAndContentType> {
    this.#assertOpen();
    // A fresh connection offers its browser's own header extension ids, which need not be the
    // dialog's (Firefox: 1 audio level, 3 mid, 7 transport-cc; Chromium: 3 transport-cc, 4 mid);
    // a far end that keeps its connection refuses an id that now names another extension
    // (Chromium: "RTP extension ID reassignment not supported"), so the tab renumbers them.
    const extmap = this.#freshConnection && this.#extmap.size
      ? Object.fromEntries(this.#extmap)
      : undefined;
    this.#freshConnection = false;
    const value = await this.#channel.request("getDescription", this.#sdhId, {
      options: jsonSafe(options ?? {}),
      ...(extmap ? { extmap } : {}),
    }) as BodyAndContentType;
    this.#learnExtmap(value.body);
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
    const rebound = this.#rebound;
    this.#rebound = undefined;
    this.#freshConnection = false;
    const fresh: Record<string, unknown> = {};
    if (rebound?.iceControlling) fresh.iceControlling = true;
    if (rebound?.deferRemoteCandidates) {
      fresh.deferCandidatesMs = Math.min(
        DEFER_CANDIDATES_MAX_MS,
        Math.max(DEFER_CANDIDATES_MIN_MS, this.#clock.now() - rebound.at),
      );
    }
    await this.#channel.request("setDescription", this.#sdhId, {
      sdp,
      options: jsonSafe(options ?? {}),
      ...fresh,
    });
    this.#learnExtmap(sdp);
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

  #learnExtmap(sdp: string): void {
    for (const [uri, id] of Object.entries(sdpExtmap(sdp))) this.#extmap.set(uri, id);
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

/** A candidate taken out of an SDP, with what `addIceCandidate` needs to put it back. */
export interface SdpCandidate {
  /** `candidate:...` (the attribute without `a=`). */
  candidate: string;
  sdpMid: string | null;
  sdpMLineIndex: number;
}

/**
 * Splits the `a=candidate` (and `a=end-of-candidates`) lines off an SDP. An ICE-lite SDP is
 * returned whole (a lite agent never sends checks, so ours must be able to start at once).
 */
export function splitSdpCandidates(sdp: string): { sdp: string; candidates: SdpCandidate[] } {
  if (/^a=ice-lite\b/m.test(sdp)) return { sdp, candidates: [] };
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const candidates: SdpCandidate[] = [];
  const sections = sdp.split(/\r?\n(?=m=)/).map((section, i) => {
    if (i === 0) return section;
    const sdpMid = section.match(/\r?\na=mid:(\S+)/)?.[1] ?? null;
    return section.split(/\r?\n/).filter((line) => {
      if (line.startsWith("a=candidate:")) {
        candidates.push({ candidate: line.slice(2), sdpMid, sdpMLineIndex: i - 1 });
        return false;
      }
      return line !== "a=end-of-candidates";
    }).join(eol);
  });
  return { sdp: sections.join(eol), candidates };
}

const EXTMAP = /^a=extmap:(\d+)(\/\w+)?\s+(\S+)(.*)$/;

/** The RTP header extensions of an SDP's audio sections: URI → id. */
export function sdpExtmap(sdp: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of sdp.split(/\r?\n/)) {
    const m = line.match(EXTMAP);
    if (m) out[m[3]] = Number(m[1]);
  }
  return out;
}

/**
 * Renumbers an SDP's `a=extmap` lines so that every extension the dialog already knows keeps
 * its id and no other extension takes one of those ids (RFC 8285 allows ids 1–14 in the
 * one-byte form, 1–255 in the two-byte one; new ones take the lowest free id). Other lines are
 * unchanged.
 */
export function remapExtmap(sdp: string, known: Record<string, number>): string {
  const eol = sdp.includes("\r\n") ? "\r\n" : "\n";
  const taken = new Set(Object.values(known));
  const assigned = new Map<string, number>(Object.entries(known));
  const idFor = (uri: string): number => {
    const id = assigned.get(uri);
    if (id !== undefined) return id;
    let free = 1;
    while (taken.has(free)) free++;
    taken.add(free);
    assigned.set(uri, free);
    return free;
  };
  return sdp.split(/\r?\n/).map((line) => {
    const m = line.match(EXTMAP);
    return m ? `a=extmap:${idFor(m[3])}${m[2] ?? ""} ${m[3]}${m[4]}` : line;
  }).join(eol);
}
