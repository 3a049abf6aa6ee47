/**
 * The message protocol between pages and the engine host. The same messages travel over a
 * SharedWorker's MessagePort and, in the fallback host, over a BroadcastChannel (where every
 * message carries its sender and addressee tab ids).
 *
 * ```
 * page                                   engine host
 *  │ hello {tabId, lockName, scope}  (after the tab's Web Lock is granted)
 *  │ ───────────────────────────────────▶ │
 *  │ ◀──────── welcome {snapshot}          │  or refused: the engine serves another scope
 *  │ cmd {id, command} ─────────────────▶  │
 *  │ ◀──────── result {id, ok|error}       │
 *  │ ◀──────── snapshot (on every change)  │
 *  │ ◀──────── media {id, op, sdhId}       │  SDP work for the media-owning tab
 *  │ media-result {id, ok|error} ───────▶  │
 *  │ ◀──────── ring / journal / dtmf       │
 *  │ journal-ack {entryId, ok} ─────────▶  │
 *  │ push-sub {on} ─────────────────────▶  │  the page can get push stream tickets
 *  │ ◀──────── push-ticket {id}            │  asked of one subscribed page
 *  │ push-ticket-result {id, url} ──────▶  │
 *  │ ◀──────── push {event}                │  every message of the stream, to every page
 *  │ bye (pagehide) ────────────────────▶  │
 * ```
 *
 * @module
 */
import type { PushEvent } from "../../shared/api/push.ts";
import type {
  DeviceSettings,
  DtmfMode,
  DtmfReceived,
  JournalEntry,
  PhoneAccount,
  PhoneErrorCode,
  PhoneSnapshot,
  RegisterOptions,
} from "./types.ts";

/** A request from a page to the engine. */
export type Command =
  | { op: "register"; account: PhoneAccount; options?: RegisterOptions }
  | { op: "unregister" }
  | { op: "call"; number: string; bitrixCallId?: string }
  | { op: "answer"; callId: string; holdOthers?: boolean }
  | { op: "reject"; callId: string; code?: number }
  | { op: "hangup"; callId: string }
  | { op: "mute"; callId: string; on: boolean }
  | { op: "hold"; callId: string; on: boolean }
  | { op: "dtmf"; callId: string; tones: string; mode?: DtmfMode }
  | { op: "transfer"; callId: string; target: string }
  | { op: "attendedTransfer"; callId: string; toCallId: string }
  | { op: "setDevices"; devices: DeviceSettings }
  | { op: "snapshot" };

/** Operations the engine asks the media-owning tab to run on its session-description handler. */
export type MediaOp =
  | "getDescription"
  | "setDescription"
  | "dtmf"
  | "mute"
  | "iceState"
  | "close";

/** Per-call media configuration sent with every media request. */
export interface MediaConfig {
  iceServers: RTCIceServer[];
  iceGatheringTimeoutMs: number;
  muted: boolean;
  devices: DeviceSettings;
}

/** Page → engine. */
export type ClientMessage =
  | {
    t: "hello";
    tabId: string;
    lockName?: string;
    visible: boolean;
    journal: boolean;
    /** Whose phone the page wants (`names.ts`); an engine serves one scope. Absent: none. */
    scope?: string;
    /** The page can get push stream tickets (`onPushTicket`). */
    push?: boolean;
    /**
     * The last push message id the page got: a new engine (the fallback host taken over)
     * resumes the stream after it.
     */
    pushLastEventId?: number;
  }
  | { t: "cmd"; id: number; command: Command }
  | { t: "media-result"; id: number; ok: boolean; value?: unknown; error?: string; code?: string }
  | { t: "visible"; visible: boolean }
  /**
   * Whether the page may play sound (browsers refuse `play()` in a frame the user never touched
   * when the portal's frame grants no `autoplay`); tabs that say nothing count as able.
   */
  | { t: "sound"; allowed: boolean }
  /** The media tab's ICE connection state changed for a call's peer connection. */
  | { t: "ice"; callId: string; sdhId: string; state: RTCIceConnectionState }
  | { t: "journal-sub"; on: boolean }
  | { t: "journal-ack"; entryId: string; ok: boolean }
  | { t: "push-sub"; on: boolean }
  /** A stream URL with a fresh ticket (`POST /api/push/ticket`), or why there is none. */
  | { t: "push-ticket-result"; id: number; ok: boolean; url?: string; error?: string }
  | { t: "heartbeat"; hidden: boolean }
  | { t: "bye" };

/** Engine → page. */
export type HostMessage =
  | { t: "welcome"; snapshot: PhoneSnapshot }
  /** The engine serves another scope: the page is not attached and gets nothing more. */
  | { t: "refused"; reason: string }
  | {
    t: "result";
    id: number;
    ok: boolean;
    value?: unknown;
    error?: { code: PhoneErrorCode; message: string; sipStatus?: number };
  }
  | { t: "snapshot"; snapshot: PhoneSnapshot }
  | {
    t: "media";
    /** 0 = no reply expected. */
    id: number;
    op: MediaOp;
    sdhId: string;
    callId: string;
    args: Record<string, unknown>;
  }
  | { t: "ring"; on: boolean; waiting?: boolean }
  | { t: "journal"; entry: JournalEntry }
  /** The engine needs a push stream URL with a fresh ticket from this page. */
  | { t: "push-ticket"; id: number }
  /** A message of the app's push stream (every page gets each once). */
  | { t: "push"; event: PushEvent }
  | { t: "dtmf"; event: DtmfReceived }
  /** Engine diagnostics (info and above), for a page's console or a debug panel. */
  | { t: "log"; level: "info" | "warn" | "error"; message: string }
  /** The host does not know the sender (it restarted or declared the tab dead): say hello again. */
  | { t: "rehello" };

/** Envelope on the fallback host's BroadcastChannel. `to` absent = every tab. */
export type BusMessage =
  | { k: "to-host"; from: string; msg: ClientMessage }
  | { k: "to-tab"; to: string; msg: HostMessage }
  | { k: "host-alive"; hostTabId: string; epoch: number }
  | { k: "host-query"; from: string }
  | { k: "host-claim"; from: string; epoch: number; since: number }
  | { k: "tab-gone"; tabId: string };

/** Serialises for structured clone: drops functions and undefined (SIP.js options carry both). */
export function jsonSafe<T>(value: T): T {
  if (value === undefined) return value;
  return JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === "function" ? undefined : v)));
}
