/**
 * Starts the employee's phone in a page: asks the app who the user is (`GETME`: their SIP
 * account with its password, the portal's ICE servers), joins the shared phone engine, reports
 * the call journal to the server, and registers.
 *
 * @module
 */
import { ApiError, type FrameApi, type WidgetResult } from "./frame_api.ts";
import type { JournalEntry, PhoneAccount, PhoneClient } from "./phone/client.ts";
import type { CallReportInput } from "../shared/api/calls.ts";

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

/** Joins the engine, reports the journal through `api`, and registers `me`'s account. */
export async function startPhoneSession(
  api: FrameApi,
  options: { onRegisterError?: (error: unknown) => void } = {},
): Promise<{ phone: PhoneClient; me: Me }> {
  const me = await api.widget("GETME");
  const { connectPhone } = await loadPhoneModule();
  const phone = await connectPhone();
  // A rejected promise makes the engine offer the entry again later (outages, expired tokens);
  // an entry the server refuses as invalid would never pass, so it counts as delivered.
  phone.onJournal((entry) =>
    api.reportCall(toCallReport(entry)).then(() => {}, (err) => {
      if (!(err instanceof ApiError && [400, 403, 404, 413].includes(err.status))) throw err;
    })
  );
  const account = accountOf(me);
  if (account) phone.register(account).catch((err) => options.onRegisterError?.(err));
  return { phone, me };
}

/** The journal's report of an engine's journal entry. */
export function toCallReport(entry: JournalEntry): CallReportInput {
  switch (entry.phase) {
    case "start":
      return {
        phase: "start",
        sipCallId: entry.sipCallId,
        direction: entry.direction,
        number: entry.number,
        bitrixCallId: entry.bitrixCallId,
      };
    case "answer":
      return { phase: "answer", sipCallId: entry.sipCallId };
    case "end":
      return {
        phase: "end",
        sipCallId: entry.sipCallId,
        sipStatus: entry.sipStatus ?? 487,
        durationSec: entry.durationSec ?? 0,
      };
  }
}
