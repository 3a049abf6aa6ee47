/**
 * Starts the employee's phone in a page: asks the app who the user is (`GETME`: their SIP
 * account with its password, the portal's ICE servers), joins the phone engine of this portal
 * and user, reports the call journal to the server, gives the engine push stream tickets, and
 * registers.
 *
 * Every portal's app frames share one browser partition wherever browsers see the portals as
 * one site (Bitrix24's cloud domains are not on the Public Suffix List: every `*.bitrix24.ru`
 * portal is the site `bitrix24.ru`), so the engine is scoped by {@link phoneScope}: each portal
 * and user gets an engine, channels and locks of their own, and an engine refuses pages of
 * another scope (their commands, their journal subscriptions).
 *
 * @module
 */
import { ApiError, type FrameApi, type WidgetResult } from "./frame_api.ts";
import type { CallInfo, JournalEntry, PhoneAccount, PhoneClient } from "./phone/client.ts";
import type { CallReportInput } from "../shared/api/calls.ts";
import { scopeKey } from "./phone/names.ts";
import { claim as claimInBrowser, type Release } from "./claim.ts";
import { PUSH_DIAL, type PushEvent, readDialPush } from "../shared/api/push.ts";

/** Where the phone's page module is served (built by tasks/build.ts). */
const PHONE_MODULE_URL = "/static/build/phone_tab.js";

/** What `GETME` answers, as the page receives it. */
export type Me = WidgetResult<"GETME">;

/** Loads the phone module (one copy shared by every page of the origin). */
export async function loadPhoneModule(): Promise<typeof import("./phone/client.ts")> {
  const url = PHONE_MODULE_URL;
  return await import(url);
}

/** The phone account of `me`, or undefined when none (or no password) is assigned. */
export function accountOf(me: Me): PhoneAccount | undefined {
  const a = me.account;
  if (!a?.password) return undefined;
  return {
    wsUrl: a.wsUrl,
    sipUri: a.sipUri,
    authUser: a.authUser,
    password: a.password,
    displayName: a.displayName ?? undefined,
    iceServers: me.portal.iceServers,
  };
}

/** The phone's scope of `userId` on the portal `memberId` (a hash of both). */
export function phoneScope(memberId: string, userId: number): Promise<string> {
  return scopeKey("bitrix24", memberId, userId);
}

/**
 * Joins the engine of `api`'s portal and `me`, reports the journal through `api`, and registers
 * `me`'s account. Resolves with the phone's `scope` too (claims take it).
 */
export async function startPhoneSession(
  api: FrameApi,
  options: {
    onRegisterError?: (error: unknown) => void;
    /** A pushed dial (a mobile click-to-call) could not be placed. */
    onDialError?: (error: unknown) => void;
  } = {},
): Promise<{ phone: PhoneClient; me: Me; scope: string }> {
  const me = await api.widget("GETME");
  const scope = await phoneScope(api.memberId, me.userId);
  const { connectPhone } = await loadPhoneModule();
  const phone = await connectPhone({ scope });
  // A rejected promise makes the engine offer the entry again later (outages, expired tokens,
  // limits); an entry the server refuses as invalid, or as another user's call, would never
  // pass, so it counts as delivered.
  phone.onJournal((entry) =>
    api.reportCall(toCallReport(entry)).then(() => {}, (err) => {
      if (!(err instanceof ApiError && [400, 403, 404, 413].includes(err.status))) throw err;
    })
  );
  // The engine's host holds the app's push stream for every page; any page can get it a ticket.
  phone.onPushTicket(async () => new URL((await api.pushTicket()).url, location.href).href);
  phone.push.addListener((event) =>
    dialPushed(phone, event, (key) => claimInBrowser(scope, key)).catch((err) => {
      options.onDialError?.(err);
      // Bitrix24's call is finished now, with why, rather than by the undialled sweep later.
      const report = undialledReport(event, err);
      if (report) api.reportCall(report).catch(() => {});
    })
  );
  const account = accountOf(me);
  if (account) phone.register(account).catch((err) => options.onRegisterError?.(err));
  return { phone, me, scope };
}

/**
 * Dials a pushed `dial` (a click-to-call from the Bitrix24 mobile app, which raises no card)
 * from exactly one page of the browser: the claim is the call card's own (`dial:<CALL_ID>`),
 * held until the call ends, and a live call already dialled for that `CALL_ID` is left alone.
 * Resolves to the call placed, or undefined when this page does not dial.
 */
export async function dialPushed(
  phone: Pick<PhoneClient, "call" | "state" | "stateChange">,
  event: PushEvent,
  claim: (key: string) => Promise<Release | undefined>,
): Promise<CallInfo | undefined> {
  if (event.type !== PUSH_DIAL) return undefined;
  const dial = readDialPush(event.data);
  if (!dial) return undefined;
  const { callId, number } = dial;
  const live = (c: CallInfo) => c.bitrixCallId === callId && c.state !== "ended";
  if (phone.state.calls.some(live)) return undefined;
  const release = await claim(`dial:${callId}`);
  if (!release) return undefined; // another page dials it
  try {
    if (phone.state.calls.some(live)) {
      release();
      return undefined;
    }
    const call = await phone.call(number, { bitrixCallId: callId });
    const ended = (snapshot: { calls: CallInfo[] }) => {
      const now = snapshot.calls.find((c) => c.id === call.id);
      if (now && now.state !== "ended") return;
      phone.stateChange.removeListener(ended);
      release();
    };
    phone.stateChange.addListener(ended);
    return call;
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * The journal's report of a pushed dial this page failed to place (the phone is not
 * registered, the microphone is blocked…): the call ended before it began, with the failure's
 * SIP status (480 when it had none), so the server finishes Bitrix24's call with it.
 */
export function undialledReport(event: PushEvent, error: unknown): CallReportInput | undefined {
  if (event.type !== PUSH_DIAL) return undefined;
  const dial = readDialPush(event.data);
  if (!dial) return undefined;
  const status = (error as { sipStatus?: unknown })?.sipStatus;
  return {
    phase: "end",
    sipCallId: `undialled.${dial.callId}`,
    sipStatus: typeof status === "number" && status >= 300 && status <= 699 ? status : 480,
    durationSec: 0,
    call: {
      direction: "outbound",
      number: dial.number,
      bitrixCallId: dial.callId,
      startedAgoMs: 0,
    },
  };
}

/**
 * The journal's report of an engine's journal entry, sent at `now` (epoch ms): every report
 * dates its event by its age and carries what the server needs to store the call, in case
 * its start never got there.
 */
export function toCallReport(entry: JournalEntry, now = Date.now()): CallReportInput {
  const ago = (at: number) => Math.max(0, Math.round(now - at));
  const call = {
    direction: entry.direction,
    number: entry.number,
    bitrixCallId: entry.bitrixCallId,
    startedAgoMs: ago(entry.callStartedAt),
  };
  switch (entry.phase) {
    case "start":
      return {
        phase: "start",
        sipCallId: entry.sipCallId,
        direction: entry.direction,
        number: entry.number,
        bitrixCallId: entry.bitrixCallId,
        agoMs: ago(entry.at),
      };
    case "answer":
      return { phase: "answer", sipCallId: entry.sipCallId, agoMs: ago(entry.at), call };
    case "end":
      return {
        phase: "end",
        sipCallId: entry.sipCallId,
        sipStatus: entry.sipStatus ?? 487,
        durationSec: entry.durationSec ?? 0,
        agoMs: ago(entry.at),
        call,
      };
  }
}
