/**
 * The call journal's contract (`/api/calls`): the phone's reports (POST), the history query
 * (GET) and the journal row both answer with.
 *
 * @module
 */
import { z } from "zod";

/**
 * A SIP Call-ID as a phone reports it. `bitrix24:` starts the journal's own placeholders for
 * click-to-calls no phone has dialled yet, so no report may use it.
 */
const sipCallId = z.string().min(1).max(200).regex(/^[\x21-\x7e]+$/, "SIP Call-ID")
  .refine((id) => !id.startsWith("bitrix24:"), "reserved SIP Call-ID");

/** The longest a report may say its event lies back; older ones are taken as this old. */
export const MAX_REPORT_AGE_MS = 7 * 24 * 60 * 60_000;

/**
 * How long before sending the event happened, ms, by the phone's own clock (so a report
 * retried later, or from a phone whose clock is off, still dates its call right).
 */
const agoMs = z.number().int().min(0).transform((ms) => Math.min(ms, MAX_REPORT_AGE_MS));

const direction = z.enum(["inbound", "outbound"]);
const number = z.string().trim().min(1).max(64).regex(/^[0-9A-Za-z+*#()\-. @_:]+$/);
/** Bitrix24's CALL_ID of a click-to-call. */
const bitrixCallId = z.string().min(1).max(200);

/**
 * What an answer or end report carries so that it can store its call even when no start of it
 * was stored (lost, refused for a while, or overtaken by this report).
 */
const callFacts = z.object({
  direction,
  number,
  bitrixCallId: bitrixCallId.optional(),
  startedAgoMs: agoMs,
});

/** A phone's report of one phase of a call. */
export const callReportSchema = z.discriminatedUnion("phase", [
  z.object({
    phase: z.literal("start"),
    sipCallId,
    direction,
    number,
    bitrixCallId: bitrixCallId.optional(),
    agoMs: agoMs.optional(),
  }),
  z.object({
    phase: z.literal("answer"),
    sipCallId,
    agoMs: agoMs.optional(),
    call: callFacts.optional(),
  }),
  z.object({
    phase: z.literal("end"),
    sipCallId,
    sipStatus: z.number().int().min(100).max(699),
    durationSec: z.number().int().min(0).max(86_400),
    agoMs: agoMs.optional(),
    call: callFacts.optional(),
  }),
]);

/** A report as the phone sends it. */
export type CallReportInput = z.input<typeof callReportSchema>;

/** A parsed report. */
export type CallReport = z.output<typeof callReportSchema>;

/** The history query (`GET /api/calls`). */
export const historyQuerySchema = z.object({
  limit: z.coerce.number<number>().int().min(1).max(200).default(50),
  before: z.iso.datetime().transform((s) => new Date(s)).optional(),
  /** Admins: every employee's calls. */
  all: z.enum(["0", "1"]).default("0"),
  /** One call by Bitrix24's CALL_ID (the call card knows only that). */
  bitrixCallId: z.string().min(1).max(200).optional(),
});

/** A history query as a client sends it. */
export type HistoryQuery = z.input<typeof historyQuerySchema>;

/** A journal row as the phone and the admin panel see it. */
export interface CallView {
  id: string;
  /** The SIP Call-ID, or `bitrix24:<CALL_ID>` for a click-to-call no phone has dialled yet. */
  sipCallId: string;
  bitrixCallId: string | null;
  userId: number;
  direction: "inbound" | "outbound";
  number: string;
  startedAt: Date;
  answeredAt: Date | null;
  endedAt: Date | null;
  durationSec: number | null;
  sipStatus: number | null;
  /** Why it failed, in words (a click-to-call the phone could not dial). */
  failedReason: string | null;
  /** Where the Bitrix24 side is: `pending` work remains, `synced` done, `failed` gave up. */
  syncState: "pending" | "synced" | "failed";
}

/** What a report answers: the row as stored. */
export interface CallReportAnswer {
  call: CallView;
}

/** What the history answers, newest first. */
export interface CallHistory {
  calls: CallView[];
}
