/**
 * Public data shapes of the phone: account, call and phone snapshots, journal entries,
 * devices and errors. Plain JSON-safe objects: they cross MessagePorts and BroadcastChannels.
 *
 * @module
 */
import type { CallState } from "./call_state.ts";
import type { RegistrationError, RegistrationState } from "./registration_state.ts";

/** A SIP account as configured by an admin (the engine knows nothing about Bitrix24). */
export interface PhoneAccount {
  /** SIP over WebSocket server, `wss://pbx.example.com:8089/ws`. */
  wsUrl: string;
  /** Address of record, `sip:101@pbx.example.com`. */
  sipUri: string;
  /** Digest user name. */
  authUser: string;
  /** Digest password. */
  password: string;
  /** Caller name shown to the far end. */
  displayName?: string;
  /**
   * STUN/TURN servers. Empty or absent means host candidates only; the SIP.js default
   * (a public Google STUN server) is never used.
   */
  iceServers?: RTCIceServer[];
}

/** Engine tuning passed with `register()`. All optional. */
export interface RegisterOptions {
  /** REGISTER expiry in seconds. @defaultValue 300 */
  expiresSec?: number;
  /** Max time to wait for ICE gathering before sending SDP, ms. @defaultValue 500 */
  iceGatheringTimeoutMs?: number;
  /** First reconnect delay after a WebSocket loss, ms. @defaultValue 500 */
  reconnectMinDelayMs?: number;
  /** Longest reconnect delay, ms. @defaultValue 30000 */
  reconnectMaxDelayMs?: number;
  /** How long a media tab has to answer an SDP request, ms. @defaultValue 15000 */
  mediaTimeoutMs?: number;
}

/** Call direction as seen by this phone. */
export type CallDirection = "inbound" | "outbound";

/** How a call ended. */
export type CallEndReason =
  /** This side hung up. */
  | "local-hangup"
  /** The far side hung up. */
  | "remote-hangup"
  /** We rejected an incoming call. */
  | "rejected"
  /** The far side refused (busy, declined, not found, ...). */
  | "refused"
  /** The caller gave up before anyone answered. */
  | "missed"
  /** We cancelled our outgoing call before it was answered. */
  | "cancelled"
  /** The call was transferred away. */
  | "transferred"
  /** It was replaced by another dialog (attended transfer). */
  | "replaced"
  /** The microphone was denied or missing. */
  | "media-denied"
  /** No tab was left to own media. */
  | "no-media-tab"
  /** Transport or internal failure. */
  | "failed";

/** A snapshot of one call. */
export interface CallInfo {
  /** Engine-local id (stable for the life of the call). */
  id: string;
  /** The SIP Call-ID header. */
  sipCallId: string;
  direction: CallDirection;
  /** The far party's number (user part of the remote URI). */
  number: string;
  /** The far party's display name, if sent. */
  displayName?: string;
  state: CallState;
  muted: boolean;
  /** We put the call on hold. */
  held: boolean;
  /** The far side put us on hold (its offer was sendonly/inactive). */
  remoteHeld: boolean;
  /** The tab that owns the call's RTCPeerConnection, if any. */
  mediaTabId?: string;
  /** For a call we placed because of a transfer: the id of the call that asked for it. */
  referredBy?: string;
  /**
   * Who passed this call on to us: the `Referred-By` of a transferred incoming call, or the far
   * party of the call that asked us (the transferee) to place this one.
   */
  transferredFrom?: string;
  /** Bitrix24's `CALL_ID` of the call card this call was dialled for (click-to-call). */
  bitrixCallId?: string;
  /** Epoch ms. */
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  /** Final SIP status: 200 when answered, else the failure status (486, 487, 603, ...). */
  sipStatus?: number;
  endReason?: CallEndReason;
}

/** The connection to the SIP server. */
export type ConnectionState = "disconnected" | "connecting" | "connected";

/** Selected audio devices and ringtone settings (shared by all tabs). */
export interface DeviceSettings {
  /** `deviceId` of the microphone; absent = default. */
  microphoneId?: string;
  /** `deviceId` of the speaker for call audio (needs `setSinkId`). */
  speakerId?: string;
  /** `deviceId` for the ringtone; absent = the speaker. */
  ringerId?: string;
  /** Ringtone volume 0..1. @defaultValue 0.7 */
  ringVolume?: number;
}

/** The whole observable phone state. */
export interface PhoneSnapshot {
  /** Which host runs the engine. */
  host: "worker" | "tab";
  /** Id of the engine instance; it changes when a fallback host takes over (calls are lost). */
  engineId: string;
  registration: {
    state: RegistrationState;
    error?: RegistrationError;
    /** The registered AOR (never the password). */
    sipUri?: string;
    /** Epoch ms of the next automatic retry, while retrying. */
    retryAt?: number;
  };
  connection: ConnectionState;
  calls: CallInfo[];
  devices: DeviceSettings;
  /** Some connected page may play sound (the ringtone, the far party); false: nothing can ring. */
  canPlaySound: boolean;
  /**
   * Other tabs can join this engine. False where the browser gives the page no way to reach
   * its other tabs (Firefox with every third-party cookie blocked refuses SharedWorker,
   * BroadcastChannel and Web Locks in a cross-site frame): each tab then registers on its own.
   */
  tabsShared: boolean;
  /** The app's push stream held by this engine, and the last message id it handed out. */
  push?: { state: "off" | "ticketing" | "connecting" | "open" | "waiting"; lastEventId?: number };
}

/** One call-journal event, reported to `/api/calls` by exactly one page. */
export interface JournalEntry {
  /** Unique id of this event (for de-duplication). */
  entryId: string;
  phase: "start" | "answer" | "end";
  /** The SIP Call-ID (external call id). */
  sipCallId: string;
  /** Engine-local call id. */
  callId: string;
  direction: CallDirection;
  number: string;
  /** Bitrix24's `CALL_ID` of the click-to-call this call was dialled for (phase "start"). */
  bitrixCallId?: string;
  /** Final SIP status (phase "end"). */
  sipStatus?: number;
  /** Talk time in whole seconds (phase "end"; 0 when never answered). */
  durationSec?: number;
  /** Why it ended (phase "end"). */
  reason?: CallEndReason;
  /** Epoch ms of the event. */
  at: number;
  /** Epoch ms the call started (every phase carries it, so any report can store the call). */
  callStartedAt: number;
}

/** Error codes a command can fail with. */
export type PhoneErrorCode =
  | "not-registered"
  | "no-such-call"
  | "invalid-state"
  | "bad-credentials"
  | "unreachable"
  | "rejected"
  | "invalid-account"
  | "media-denied"
  | "media-failed"
  | "request-failed"
  | "host-unavailable"
  | "internal";

/** A failed command, as thrown by the client. */
export class PhoneError extends Error {
  readonly code: PhoneErrorCode;
  readonly sipStatus?: number;
  constructor(code: PhoneErrorCode, message: string, sipStatus?: number) {
    super(message);
    this.name = "PhoneError";
    this.code = code;
    this.sipStatus = sipStatus;
  }
}

/** A DTMF tone received from the far side (SIP INFO). */
export interface DtmfReceived {
  callId: string;
  tone: string;
  via: "info";
}

/** Severity of an engine diagnostic. */
export type LogLevel = "debug" | "info" | "warn" | "error";

/** Diagnostic log sink of the engine and its parts (info and above also reach the pages). */
export type Log = (level: LogLevel, message: string, data?: unknown) => void;

/** DTMF sending method. */
export type DtmfMode = "auto" | "rfc4733" | "info";

/** Audio statistics of the owning tab's peer connection (for diagnostics and tests). */
export interface MediaStats {
  iceConnectionState: RTCIceConnectionState;
  bytesReceived: number;
  bytesSent: number;
  packetsReceived: number;
  packetsSent: number;
  /** Energy of the received audio so far (grows while the far end is not silent). */
  totalAudioEnergy: number;
  /** Current directions of the transceivers. */
  directions: (RTCRtpTransceiverDirection | null)[];
  /** The selected ICE candidate pair. */
  selectedPair?: {
    local: { address?: string; port?: number; protocol?: string; candidateType?: string };
    remote: { address?: string; port?: number; protocol?: string; candidateType?: string };
  };
  /** Tones played by this tab's RTCDTMFSender during the call. */
  dtmfSent: string;
}
