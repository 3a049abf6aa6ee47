/**
 * Transfer: blind (REFER to a number) and attended (REFER with Replaces to the consulted call),
 * both legs ending as `transferred` once the far end reports success; and, as transferee,
 * following a REFER ourselves with a new call (`referredBy`) in the same media tab.
 *
 * @module
 */
import type { Notification, Referral, Session, UserAgent } from "sip.js";
import { CallState } from "./call_state.ts";
import { assertLive, audioOnly, type CallRecord, type Calls, settleOnAnswer } from "./calls.ts";
import type { Tabs } from "./tabs.ts";
import { type CallInfo, type Log, PhoneError } from "./types.ts";

/** Options of {@link Transfer}. */
export interface TransferOptions {
  log: Log;
  calls: Pick<Calls, "get" | "target" | "terminate" | "newRecord" | "sendInvite">;
  tabs: Pick<Tabs, "best">;
}

/** Blind and attended transfer, and following a REFER. */
export class Transfer {
  readonly #log: Log;
  readonly #calls: TransferOptions["calls"];
  readonly #tabs: TransferOptions["tabs"];

  constructor(options: TransferOptions) {
    this.#log = options.log;
    this.#calls = options.calls;
    this.#tabs = options.tabs;
  }

  /** Blind transfer: REFER the far party to `target`; we hang up once it reports success. */
  async blind(callId: string, target: string): Promise<CallInfo> {
    const rec = this.#calls.get(callId);
    assertLive(rec);
    await this.#refer(rec, this.#calls.target(target), []);
    return { ...rec.info };
  }

  /** Attended transfer: REFER the far party of `callId` to the party of `toCallId` (Replaces). */
  async attended(callId: string, toCallId: string): Promise<CallInfo> {
    const rec = this.#calls.get(callId);
    const to = this.#calls.get(toCallId);
    for (const r of [rec, to]) assertLive(r);
    await this.#refer(rec, to.session, [to]);
    return { ...rec.info };
  }

  #refer(
    rec: CallRecord,
    target: Session | NonNullable<ReturnType<typeof UserAgent.makeURI>>,
    alsoEnd: CallRecord[],
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      rec.session.refer(target, {
        requestDelegate: settleOnAnswer("REFER", resolve, reject),
        onNotify: (notification: Notification) => {
          notification.accept().catch(() => {});
          const frag = notification.request.body ?? "";
          const status = Number(frag.match(/SIP\/2\.0\s+(\d{3})/)?.[1] ?? 0);
          if (status >= 200 && status < 300) {
            for (const r of [rec, ...alsoEnd]) {
              if (r.fsm.state !== CallState.Ended) {
                this.#calls.terminate(r, "transferred").catch(() => {});
              }
            }
          }
        },
      }).catch((error) =>
        reject(new PhoneError("request-failed", `REFER failed: ${error?.message}`))
      );
    });
  }

  /** The far party of `rec` asked us to call someone else (we are the transferee). */
  onRefer(rec: CallRecord, referral: Referral): void {
    referral.accept().then(() => {
      const inviter = referral.makeInviter({ sessionDescriptionHandlerOptions: audioOnly() });
      const uri = referral.referTo.uri;
      // With Replaces the URI is the far party's contact; SIP.js puts its AOR in the name.
      const named = referral.replaces ? referral.referTo.displayName : "";
      const number = named ? named.replace(/^sips?:/, "").replace(/@.*$/, "") : uri.user;
      const next = this.#calls.newRecord(
        inviter,
        "outbound",
        number || uri.toString(),
        CallState.Dialing,
        rec.info.mediaTabId ?? this.#tabs.best(),
        { referredBy: rec.info.id, transferredFrom: rec.info.displayName || rec.info.number },
      );
      this.#calls.sendInvite(next, inviter);
    }).catch((error) => this.#log("warn", "REFER handling failed", error?.message));
  }
}
