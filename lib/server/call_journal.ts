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
import type { CallRepo, CallRow } from "./db/calls.ts";
import type { Metrics } from "./metrics.ts";
import { NotFoundError } from "./errors.ts";
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

/** How long a report waits for Bitrix24 before answering (the sync goes on in the background). */
const SYNC_WAIT_MS = 3000;

/** Tries the Bitrix24 side of `callId` now, waiting at most `SYNC_WAIT_MS` for it. */
async function syncSoon(services: CallJournalDeps, callId: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    services.bitrix.callSync.syncNow(callId).catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, SYNC_WAIT_MS)),
  ]);
  clearTimeout(timer);
}

/** Stores a report of `user`'s call and tries the Bitrix24 side at once. */
export async function reportCall(
  services: CallJournalDeps,
  user: FrameUser,
  report: CallReport,
): Promise<CallView> {
  const { calls } = services;
  const portalId = user.portal.id;
  if (report.phase === "start") {
    // A Bitrix24 CALL_ID from the request: another employee's call (one the portal confirmed)
    // must not be claimed. An unconfirmed claim is only ever this user's own row (CallRepo).
    if (report.bitrixCallId) {
      const owner = await calls.findByBitrixCallId(portalId, report.bitrixCallId);
      if (owner && owner.bitrixUserId !== user.userId && owner.registeredInBitrix) {
        throw new NotFoundError("no such call");
      }
    }
    const { call } = await calls.recordStart({
      portalId,
      bitrixUserId: user.userId,
      sipCallId: report.sipCallId,
      direction: report.direction,
      phoneNumber: report.number,
      startedAt: new Date(),
      bitrixCallId: report.bitrixCallId,
    });
    if (call.bitrixUserId !== user.userId) throw new NotFoundError("no such call");
    await syncSoon(services, call.id);
    return callView((await calls.find(portalId, report.sipCallId))!);
  }
  const existing = await calls.find(portalId, report.sipCallId);
  if (!existing || existing.bitrixUserId !== user.userId) throw new NotFoundError("no such call");
  if (report.phase === "answer") {
    return callView((await calls.recordAnswer(portalId, report.sipCallId, new Date()))!);
  }
  const ended = (await calls.recordEnd(portalId, report.sipCallId, {
    at: new Date(),
    sipStatus: report.sipStatus,
    durationSec: report.durationSec,
  }))!;
  services.metrics.callsEnded.inc({ direction: ended.direction, status: String(ended.sipStatus) });
  await syncSoon(services, ended.id);
  return callView((await calls.find(portalId, report.sipCallId))!);
}
