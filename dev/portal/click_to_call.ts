/**
 * Click-to-call from the CRM: the portal registers the call itself (so the app must not register
 * it again) and sends ONEXTERNALCALLSTART with that CALL_ID (DOCS telephony/events).
 *
 * @module
 */
import { z } from "zod";
import { fireEvent } from "./events.ts";
import type { EventRecord } from "./records.ts";
import type { PortalState } from "./state.ts";
import { registerCall } from "./telephony.ts";

/** Input of `clickToCall`. */
export const clickToCallSchema = z.object({
  /** The employee who clicked. */
  userId: z.number().int().positive(),
  phoneNumber: z.string().min(1),
  /** Default: the first external line's number, else "". */
  lineNumber: z.string().optional(),
  crmEntityType: z.enum(["CONTACT", "COMPANY", "LEAD"]).optional(),
  crmEntityId: z.number().int().positive().optional(),
  callListId: z.number().int().min(0).default(0),
  isMobile: z.boolean().default(false),
});

/** Input of `clickToCall`. */
export type ClickToCallInput = z.input<typeof clickToCallSchema>;

/**
 * The event's E.164 form of a CRM number, as Bitrix24's parser gives it for a Russian portal
 * (reference fact 9: `8 (495) 123-45-67` → `+74951234567`); short numbers (extensions) and
 * numbers it cannot place keep their digits.
 */
export function internationalForm(number: string): string {
  const digits = number.replace(/\D/g, "");
  if (number.trim().startsWith("+")) return `+${digits}`;
  if (digits.length === 11 && /^[78]/.test(digits)) return `+7${digits.slice(1)}`;
  if (digits.length === 10 && digits.startsWith("9")) return `+7${digits}`;
  return digits;
}

/**
 * Registers an outgoing call as Bitrix24 does and fires ONEXTERNALCALLSTART; `delayEventMs`
 * lets the card (shown by the caller) arrive first.
 */
export async function clickToCall(
  state: PortalState,
  input: ClickToCallInput,
  beforeEvent?: (callId: string) => Promise<void> | void,
): Promise<{ callId: string; events: EventRecord[] }> {
  const p = clickToCallSchema.parse(input);
  const lineNumber = p.lineNumber ?? state.lines[0]?.number ?? "";
  const reg = registerCall(state, {
    userId: p.userId,
    userPhoneInner: "",
    phoneNumber: p.phoneNumber,
    type: 1,
    callStartDate: "",
    crmCreate: false,
    crmEntityType: p.crmEntityType ?? "",
    crmEntityId: p.crmEntityId ?? 0,
    show: false,
    lineNumber,
    externalCallId: "",
  });
  const data = {
    PHONE_NUMBER: p.phoneNumber,
    PHONE_NUMBER_INTERNATIONAL: internationalForm(p.phoneNumber),
    EXTENSION: "",
    USER_ID: String(p.userId),
    CALL_LIST_ID: String(p.callListId),
    LINE_NUMBER: lineNumber,
    IS_MOBILE: p.isMobile ? "1" : "0",
    CALL_ID: reg.CALL_ID,
    CRM_ENTITY_TYPE: reg.CRM_ENTITY_TYPE ?? "",
    CRM_ENTITY_ID: reg.CRM_ENTITY_ID === null ? "" : String(reg.CRM_ENTITY_ID),
  };
  await beforeEvent?.(reg.CALL_ID);
  return {
    callId: reg.CALL_ID,
    events: await fireEvent(state, "ONEXTERNALCALLSTART", data, p.userId),
  };
}
