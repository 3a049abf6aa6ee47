/**
 * The push channel's contract: the ticket a phone's host asks for (`POST /api/push/ticket`),
 * and the messages the stream (`GET /api/push/stream`) sends, each an SSE `message` event
 * whose `lastEventId` is the message's id and whose data is `{type, data}` as JSON.
 *
 * @module
 */
/** What `POST /api/push/ticket` answers. */
export interface PushTicketAnswer {
  /** The stream's URL with the single-use ticket (relative to the app's origin). */
  url: string;
  /** Seconds the ticket is good for. */
  expiresIn: number;
}

/** A message id as `Last-Event-ID` carries it (empty: none yet). */
export const LAST_EVENT_ID_PATTERN = /^[0-9]{0,10}$/;

/** A message on the stream: its id (per user, increasing), type and data. */
export interface PushEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
}

/** Reads one SSE message's data and id; undefined when it is not a push message. */
export function parsePushEvent(id: string, data: string): PushEvent | undefined {
  if (!/^[0-9]{1,10}$/.test(id)) return undefined;
  try {
    const value = JSON.parse(data) as { type?: unknown; data?: unknown };
    if (typeof value?.type !== "string" || typeof value.data !== "object" || !value.data) {
      return undefined;
    }
    return { id: Number(id), type: value.type, data: value.data as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/**
 * `dial`: the user started a click-to-call where no call card appears (the Bitrix24 mobile
 * app, `IS_MOBILE`): the browser phone dials `number` for Bitrix24's `callId`.
 */
export const PUSH_DIAL = "dial";

/** The data of a `dial` message. */
export interface DialPush {
  /** Bitrix24's CALL_ID. */
  callId: string;
  number: string;
}

/**
 * The `dial` data of a message, or undefined when it is not well formed. (A plain check, not a
 * zod schema: it runs in the phone's bundles, which zod would more than double, and whose CSP
 * forbids the `new Function` zod probes with.)
 */
export function readDialPush(data: Record<string, unknown>): DialPush | undefined {
  const { callId, number } = data;
  const ok = (v: unknown, max: number): v is string =>
    typeof v === "string" && v.length >= 1 && v.length <= max;
  return ok(callId, 200) && ok(number, 64) ? { callId, number } : undefined;
}
