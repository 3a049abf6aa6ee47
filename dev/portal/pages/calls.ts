/**
 * What a portal page needs to know about external calls: the cards a user should see (calls
 * registered with SHOW=1 or shown with `telephony.externalCall.show`, not hidden) and the data a
 * call card starts with — the `BackgroundCallCard::initialized` payload of CORE's
 * `PhoneCallView.getPlacementOptions()`.
 *
 * @module
 */
import type { CrmEntity } from "../crm.ts";
import type { ExternalCall, PortalState } from "../state.ts";

/** The card's start data; the `initialized` event sends the upper-case keys. */
export interface CardCall {
  CALL_ID: string;
  PHONE_NUMBER: string;
  LINE_NUMBER: string;
  LINE_NAME: string;
  /** `CONTACT`, `COMPANY`, `LEAD` or "" when the call has no CRM binding. */
  CRM_ENTITY_TYPE: string;
  /** 0 when the call has no CRM binding. */
  CRM_ENTITY_ID: number;
  CRM_BINDINGS: { ENTITY_TYPE: string; ENTITY_ID: number }[];
  /** `incoming`, `outgoing` or `callback` (CORE: outgoing when the call has a from-user). */
  CALL_DIRECTION: "incoming" | "outgoing" | "callback";
  /** The card is created idle; CORE sets `connected` only after `initialized` is sent. */
  CALL_STATE: "idle";
  CALL_LIST_MODE: false;
  /** Not sent to frames: the CRM record's name for the card. */
  crmName: string | null;
}

/** What the page's event stream sends: cards to show, and calls already finished. */
export interface CallsSnapshot {
  shown: CardCall[];
  /** CALL_IDs of finished calls of this user (their cards stay open until closed). */
  finished: string[];
}

function direction(type: number): CardCall["CALL_DIRECTION"] {
  if (type === 1) return "outgoing";
  if (type === 4) return "callback";
  return "incoming";
}

/** The card data of a registered call. */
export function cardCall(state: PortalState, call: ExternalCall): CardCall {
  const entity = call.crmEntityType && call.crmEntityId
    ? state.crm.get(call.crmEntityType, call.crmEntityId)
    : undefined;
  return {
    CALL_ID: call.callId,
    PHONE_NUMBER: call.phoneNumber,
    LINE_NUMBER: call.lineNumber,
    LINE_NAME: state.lines.find((l) => l.number === call.lineNumber)?.name ?? "",
    CRM_ENTITY_TYPE: call.crmEntityType ?? "",
    CRM_ENTITY_ID: call.crmEntityId ?? 0,
    CRM_BINDINGS: call.crmEntityType && call.crmEntityId
      ? [{ ENTITY_TYPE: call.crmEntityType, ENTITY_ID: call.crmEntityId }]
      : [],
    CALL_DIRECTION: direction(call.type),
    CALL_STATE: "idle",
    CALL_LIST_MODE: false,
    crmName: entity?.name ?? null,
  };
}

/** The calls whose card `userId` should see now, oldest first, and their finished calls. */
export function callsFor(state: PortalState, userId: number): CallsSnapshot {
  const shown: CardCall[] = [];
  const finished: string[] = [];
  for (const call of state.calls.values()) {
    if (call.finished) {
      if (call.userId === userId || call.finished.userId === userId) finished.push(call.callId);
    } else if (call.shownTo.has(userId)) {
      shown.push(cardCall(state, call));
    }
  }
  return { shown, finished };
}

const TYPES: CrmEntity["type"][] = ["CONTACT", "COMPANY", "LEAD"];

/** Every CRM record (the CRM has no listing, so ids are probed until a run of gaps). */
export function listCrm(state: PortalState): CrmEntity[] {
  const out: CrmEntity[] = [];
  for (const type of TYPES) {
    let misses = 0;
    for (let id = 1; misses < 20; id++) {
      const e = state.crm.get(type, id);
      if (e) {
        out.push(e);
        misses = 0;
      } else {
        misses++;
      }
    }
  }
  return out;
}
