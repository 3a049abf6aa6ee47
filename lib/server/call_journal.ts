/**
 * The call journal API: phones report the start, answer and end of their calls; each report is
 * stored first (so nothing is lost) and then synced to Bitrix24 right away when possible, the
 * background loop catching up on whatever failed. The requests and answers are the contract's
 * (`lib/shared/api/calls.ts`).
 *
 * @module
 */
import type { FrameUser } from "./bitrix/frame_auth.ts";
import type { CallSync } from "./bitrix/call_sync.ts";
import type { CallRepo, CallRow, StartLimits, StartRefusal } from "./db/calls.ts";
import type { Metrics } from "./metrics.ts";
import { NotFoundError, RateLimitedError } from "./errors.ts";
import type { CallReport, CallView } from "../shared/api/calls.ts";

/** What the call journal needs. */
export interface CallJournalDeps {
  calls: CallRepo;
  bitrix: { callSync: Pick<CallSync, "syncNow"> };
  metrics: Pick<Metrics, "callsEnded">;
}

/** A journal row as the phone and the admin panel see it. */
export function callView(row: CallRow): CallView {
  return {
    id: row.id,
    sipCallId: row.sipCallId,
    bitrixCallId: row.bitrixCallId,
    userId: row.bitrixUserId,
    direction: row.direction,
    number: row.phoneNumber,
    startedAt: row.startedAt,
    answeredAt: row.answeredAt,
    endedAt: row.endedAt,
    durationSec: row.durationSec,
    sipStatus: row.sipStatus,
    failedReason: row.failedReason,
    syncState: row.syncState,
  };
}

/** Starts the Bitrix24 side of `callId` in the background: a report never waits for it. */
function syncSoon(services: CallJournalDeps, callId: string): void {
  services.bitrix.callSync.syncNow(callId).catch(() => {});
}

/**
 * What one user's phone may report: at most `liveCalls` calls started within `liveWindowMs` and
 * not ended, and at most `startsPerMinute` starts a minute. Every start may create a CRM lead with
 * the admin's token, so a phone (or an employee scripting the API) gets 429 past these, counted in
 * the journal itself. A call never ended (a phone that died mid-call) stops counting as live after
 * `liveWindowMs`.
 */
export const REPORT_LIMITS: StartLimits = {
  liveCalls: 10,
  liveWindowMs: 4 * 60 * 60_000,
  startsPerMinute: 30,
};

/** What a client is told when a limit refuses its start. */
const REFUSALS: Record<StartRefusal, string> = {
  live_calls: "too many calls in progress",
  starts_per_minute: "too many calls started in the last minute",
};

/** What a stored call needs, from whichever report of it came first. */
interface CallFacts {
  sipCallId: string;
  direction: "inbound" | "outbound";
  number: string;
  bitrixCallId?: string;
  startedAt: Date;
}

/**
 * Stores a new call of `user`: refused (404, nothing stored) when it names a Bitrix24 CALL_ID the
 * portal gave another user, and (429) past the user's {@link REPORT_LIMITS}.
 */
async function storeStart(calls: CallRepo, user: FrameUser, facts: CallFacts): Promise<CallRow> {
  const portalId = user.portal.id;
  if (
    facts.bitrixCallId &&
    await calls.isAnotherUsersCall(portalId, facts.bitrixCallId, user.userId)
  ) {
    throw new NotFoundError("no such call");
  }
  const stored = await calls.recordStartWithin({
    portalId,
    bitrixUserId: user.userId,
    sipCallId: facts.sipCallId,
    direction: facts.direction,
    phoneNumber: facts.number,
    startedAt: facts.startedAt,
    bitrixCallId: facts.bitrixCallId,
  }, REPORT_LIMITS);
  if ("refused" in stored) throw new RateLimitedError(REFUSALS[stored.refused]);
  return stored.call;
}

/**
 * Stores a report of `user`'s call and starts the Bitrix24 side in the background; answers
 * once the row is written. Reports reach only the user's own rows (a SIP Call-ID is looked up
 * among them alone) and are taken in any order: an answer or end whose start is not stored
 * stores the call from the facts it carries (an old phone's report without them gets 404). A
 * call naming a Bitrix24 CALL_ID the portal gave another user is refused (404, nothing stored);
 * one not confirmed yet links only to this user's click-to-call (see {@link CallRepo.recordStart}).
 * Events are dated by the server's clock less the age the phone gives them.
 */
export async function reportCall(
  services: CallJournalDeps,
  user: FrameUser,
  report: CallReport,
): Promise<CallView> {
  const { calls } = services;
  const portalId = user.portal.id;
  const { userId } = user;
  const now = Date.now();
  const dated = (agoMs: number | undefined) => new Date(now - (agoMs ?? 0));
  const { sipCallId } = report;
  let call = await calls.find(portalId, userId, sipCallId);
  if (report.phase === "start") {
    // A retry of a stored start answers with its row; it is not a new call.
    call ??= await storeStart(calls, user, { ...report, startedAt: dated(report.agoMs) });
    syncSoon(services, call.id);
    return callView(call);
  }
  if (!call) {
    if (!report.call) throw new NotFoundError("no such call");
    const { startedAgoMs, ...facts } = report.call;
    call = await storeStart(calls, user, { sipCallId, ...facts, startedAt: dated(startedAgoMs) });
  }
  if (report.phase === "answer") {
    return callView((await calls.recordAnswer(portalId, userId, sipCallId, dated(report.agoMs)))!);
  }
  const ended = (await calls.recordEnd(portalId, userId, sipCallId, {
    at: dated(report.agoMs),
    sipStatus: report.sipStatus,
    durationSec: report.durationSec,
  }))!;
  services.metrics.callsEnded.inc({ direction: ended.direction, status: String(ended.sipStatus) });
  syncSoon(services, ended.id);
  return callView(ended);
}
