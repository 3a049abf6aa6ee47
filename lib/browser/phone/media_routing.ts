/**
 * Media routing: which tab owns a call's media, the request/response channel to it (each call's
 * {@link ProxySessionDescriptionHandler} talks through it), and moving a call's media when its
 * tab dies ({@link chooseMediaMove} decides how).
 *
 * @module
 */
import type { Session } from "sip.js";
import { CallState, LIVE_STATES } from "./call_state.ts";
import type { CallMedia, CallRecord, Calls } from "./calls.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { ClientMessage, MediaConfig, MediaOp } from "./protocol.ts";
import { ProxySessionDescriptionHandler, sdpAudioDirection } from "./proxy_sdh.ts";
import type { Tabs } from "./tabs.ts";
import { type Log, PhoneError } from "./types.ts";

/**
 * What to do with a call whose media tab died:
 * - `keep`: nothing to move (not answered yet, or ending); the next tab owns it from now on;
 * - `end-no-tab`: no tab is left: hang up;
 * - `end-unfinished`: the offer/answer was half done in the dead tab: give up on this attempt;
 * - `offer`: the new connection offers (ICE restart); the dead one was the DTLS client;
 * - `offerless`: an offerless re-INVITE; the new connection answers the far end's offer as
 *   DTLS client and controlling ICE agent, holding the far end's candidates back.
 */
export type MediaMove = "keep" | "end-no-tab" | "end-unfinished" | "offer" | "offerless";

/**
 * How to move a call in `state` whose media tab died, to `nextTabId` (undefined when no tab is
 * left); `wasDtlsClient` tells whether the dead connection was the DTLS client.
 *
 * Chrome as far end keeps sending to the dead tab's candidate pair until that pair has been
 * silent for 2.5 s, unless data from the new connection arrives on a new pair it has validated
 * and that is nominated (as ICE-controlled agent it ranks nominated pairs by last data
 * received). So the new connection must be the DTLS client (its ClientHello is that data) and,
 * when the far end is controlled, the controlling agent:
 * - we were the DTLS client: offer from the new peer connection; the far end stays server
 *   (~0.4 s);
 * - we were the server (we placed the call): an offerless re-INVITE, so the far end offers
 *   actpass and the new connection answers as client, taking the controlling ICE role the dead
 *   one had (both would start controlled, and the role conflict costs up to ~1.5 s). Its checks
 *   must not reach the far end before our answer (in the ACK) does: Chrome prunes a
 *   peer-reflexive pair learnt that early and the move takes ~3.4 s. So it applies the offer
 *   without the far end's candidates and adds them once the answer has left (proxy_sdh.ts,
 *   media.ts). Offering instead keeps the far end the DTLS client: our new connection (server)
 *   sends no data and its ClientHellos go to the dead tab (~6.6 s).
 */
export function chooseMediaMove(
  state: CallState,
  nextTabId: string | undefined,
  wasDtlsClient: boolean,
): MediaMove {
  if (state === CallState.Incoming || state === CallState.Ended || state === CallState.Ending) {
    return "keep";
  }
  if (!nextTabId) return "end-no-tab";
  if (!LIVE_STATES.includes(state)) return "end-unfinished";
  return wasDtlsClient ? "offer" : "offerless";
}

/** Settings every media request carries (see {@link MediaConfig}). */
export interface MediaSettings {
  iceServers: RTCIceServer[];
  iceGatheringTimeoutMs: number;
  /** How long the media tab has to answer, ms. */
  mediaTimeoutMs: number;
  devices: MediaConfig["devices"];
}

/** Options of {@link MediaRouter}. */
export interface MediaRouterOptions {
  clock: Clock;
  log: Log;
  tabs: Pick<Tabs, "get" | "send" | "best">;
  /** The calls whose media is routed; re-INVITEs and hang-ups when media moves. */
  calls: () => Pick<Calls, "bySession" | "reinvite" | "terminate">;
  /** The current ICE servers, timeouts and devices. */
  settings: () => MediaSettings;
  /** A call's media changed (snapshot due). */
  onChange(): void;
}

interface PendingMedia {
  tabId: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: TimerId;
}

/** Routes each call's SDP work to the tab that owns its media. */
export class MediaRouter implements CallMedia {
  readonly #clock: Clock;
  readonly #log: Log;
  readonly #tabs: MediaRouterOptions["tabs"];
  readonly #calls: MediaRouterOptions["calls"];
  readonly #settings: () => MediaSettings;
  readonly #onChange: () => void;
  readonly #pending = new Map<number, PendingMedia>();
  #seq = 0;

  constructor(options: MediaRouterOptions) {
    this.#clock = options.clock;
    this.#log = options.log;
    this.#tabs = options.tabs;
    this.#calls = options.calls;
    this.#settings = options.settings;
    this.#onChange = options.onChange;
  }

  /**
   * SIP.js's session-description handler factory: a proxy bound to the session's call, whose
   * media goes to the call's tab (the best tab when that one is gone).
   */
  createHandler(session: Session): ProxySessionDescriptionHandler {
    const rec = this.#calls().bySession(session);
    if (!rec) throw new Error("session description handler for an unknown session");
    if (!rec.info.mediaTabId || !this.#tabs.get(rec.info.mediaTabId)) {
      rec.info.mediaTabId = this.#tabs.best();
    }
    const sdh = new ProxySessionDescriptionHandler({
      request: (op, sdhId, args) => this.request(rec, op, sdhId, args),
      notify: (op, sdhId, args) => this.notify(rec, op, sdhId, args),
      onRemoteDescription: (sdp) => {
        const direction = sdpAudioDirection(sdp);
        const remoteHeld = direction === "sendonly" || direction === "inactive";
        if (remoteHeld !== rec.info.remoteHeld) {
          rec.info.remoteHeld = remoteHeld;
          this.#onChange();
        }
      },
    }, this.#clock);
    rec.sdh = sdh;
    return sdh;
  }

  #config(rec: CallRecord): MediaConfig {
    const { iceServers, iceGatheringTimeoutMs, devices } = this.#settings();
    return { iceServers, iceGatheringTimeoutMs, muted: rec.info.muted, devices: { ...devices } };
  }

  request(
    rec: CallRecord,
    op: MediaOp,
    sdhId: string,
    args: Record<string, unknown>,
  ): Promise<unknown> {
    const tabId = rec.info.mediaTabId;
    const tab = tabId ? this.#tabs.get(tabId) : undefined;
    if (!tab || !tabId) {
      return Promise.reject(new PhoneError("media-failed", "no tab owns this call's media"));
    }
    const id = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(id);
        reject(new PhoneError("media-failed", `media tab did not answer ${op}`));
      }, this.#settings().mediaTimeoutMs);
      this.#pending.set(id, { tabId, resolve, reject, timer });
      tab.link.send({
        t: "media",
        id,
        op,
        sdhId,
        callId: rec.info.id,
        args: { ...args, config: this.#config(rec) },
      });
    });
  }

  notify(rec: CallRecord, op: MediaOp, sdhId: string, args: Record<string, unknown>): void {
    const tab = rec.info.mediaTabId ? this.#tabs.get(rec.info.mediaTabId) : undefined;
    tab?.link.send({
      t: "media",
      id: 0,
      op,
      sdhId,
      callId: rec.info.id,
      args: { ...args, config: this.#config(rec) },
    });
  }

  /** A media tab answered a request. */
  settle(message: Extract<ClientMessage, { t: "media-result" }>): void {
    const p = this.#pending.get(message.id);
    if (!p) return;
    this.#pending.delete(message.id);
    this.#clock.clearTimeout(p.timer);
    if (message.ok) p.resolve(message.value);
    else {
      const code = message.code === "media-denied" ? "media-denied" : "media-failed";
      p.reject(new PhoneError(code, message.error ?? "media request failed"));
    }
  }

  /** A tab went away: its unanswered requests fail. */
  tabGone(tabId: string): void {
    for (const [id, p] of this.#pending) {
      if (p.tabId !== tabId) continue;
      this.#pending.delete(id);
      this.#clock.clearTimeout(p.timer);
      p.reject(new PhoneError("media-failed", `media tab ${tabId} is gone`));
    }
  }

  /** The tab that owned a call's media died: move the call to the best other tab or end it. */
  mediaTabLost(rec: CallRecord): void {
    const next = this.#tabs.best(rec.info.mediaTabId);
    const move = chooseMediaMove(rec.fsm.state, next, rec.sdh?.dtlsClient === true);
    rec.info.mediaTabId = next;
    const calls = this.#calls();
    switch (move) {
      case "keep":
        return;
      case "end-no-tab":
        this.#log("warn", `no tab left for ${rec.info.id}: hanging up`);
        calls.terminate(rec, "no-media-tab").catch(() => {});
        return;
      case "end-unfinished":
        calls.terminate(rec, "no-media-tab").catch(() => {});
        return;
    }
    this.#log("info", `moving media of ${rec.info.id} to tab ${next}`);
    const offer = move === "offer";
    rec.sdh?.rebind(offer ? {} : { iceControlling: true, deferRemoteCandidates: true });
    const started = this.#clock.now();
    const moved = offer
      ? calls.reinvite(rec, { hold: rec.info.held, offerOptions: { iceRestart: true } })
      : calls.reinvite(rec, { hold: rec.info.held }, true);
    moved
      .then(() => {
        this.#log("info", `media of ${rec.info.id} moved in ${this.#clock.now() - started} ms`);
        this.#onChange();
      })
      .catch((error) => {
        this.#log("warn", `moving media of ${rec.info.id} failed; hanging up`, error?.message);
        calls.terminate(rec, "no-media-tab").catch(() => {});
      });
    this.#onChange();
  }
}
