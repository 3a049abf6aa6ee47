/**
 * External calls as the portal keeps them: registration (with the 30-minute de-duplication
 * trap and CRM lookup / lead creation), finishing into a statistics row, recordings.
 * Errors use the texts of DOCS `api-reference/telephony/*`.
 *
 * @module
 */
import { phoneDigits } from "./crm.ts";
import { randomHex } from "./ids.ts";
import { coreError } from "./rest/errors.ts";
import { isoSeconds } from "./rest/time.ts";
import type { ExternalCall, PortalState } from "./state.ts";

/** Parameters of a registration, already read from the request. */
export interface RegisterInput {
  userId: number;
  userPhoneInner: string;
  phoneNumber: string;
  type: number;
  callStartDate: string;
  crmCreate: boolean;
  crmEntityType: string;
  crmEntityId: number;
  show: boolean;
  lineNumber: string;
  externalCallId: string;
}

/** The result of `telephony.externalCall.register`. */
export interface RegisterResult {
  CALL_ID: string;
  CRM_CREATED_LEAD: number | null;
  CRM_CREATED_ENTITIES: { ENTITY_TYPE: string; ENTITY_ID: number }[];
  CRM_ENTITY_TYPE: string | null;
  CRM_ENTITY_ID: number | null;
}

const DEDUPE_MS = 30 * 60 * 1000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/** The active user named by USER_ID or USER_PHONE_INNER, or the documented ERROR_CORE. */
export function resolveCallUser(state: PortalState, userId: number, inner: string): number {
  if (userId <= 0 && inner === "") throw coreError("USER_ID or USER_PHONE_INNER should be set");
  const user = userId > 0 ? state.users.get(userId) : state.users.byPhoneInner(inner);
  if (!user?.active) throw coreError("User is not found or is not active");
  return user.id;
}

function resultOf(call: ExternalCall): RegisterResult {
  const created = call.createdLeadId === null
    ? []
    : [{ ENTITY_TYPE: "LEAD", ENTITY_ID: call.createdLeadId }];
  return {
    CALL_ID: call.callId,
    CRM_CREATED_LEAD: call.createdLeadId,
    CRM_CREATED_ENTITIES: created,
    CRM_ENTITY_TYPE: call.crmEntityType,
    CRM_ENTITY_ID: call.crmEntityId,
  };
}

/** Registers a call or, within 30 minutes of an identical one, returns that one's CALL_ID. */
export function registerCall(state: PortalState, input: RegisterInput): RegisterResult {
  if (input.userId <= 0 && input.userPhoneInner === "") {
    throw coreError("USER_ID or USER_PHONE_INNER should be set");
  }
  if (!Number.isInteger(input.type) || input.type < 1 || input.type > 5) {
    throw coreError("Unknown TYPE");
  }
  if (input.callStartDate !== "" && !ISO_8601.test(input.callStartDate)) {
    throw coreError("CALL_START_DATE should be in the ISO-8601 format");
  }
  if (/[a-z]/i.test(input.phoneNumber) || phoneDigits(input.phoneNumber).length < 3) {
    throw coreError("Unsupported phone number format");
  }
  const userId = resolveCallUser(state, input.userId, input.userPhoneInner);
  const now = state.clock.now();
  const dedupeKey = [
    phoneDigits(input.phoneNumber),
    input.type,
    userId,
    input.lineNumber,
    input.externalCallId,
  ].join("|");
  const previous = [...state.calls.values()].find((c) =>
    c.dedupeKey === dedupeKey && now - c.registeredAt < DEDUPE_MS
  );
  if (previous) return resultOf(previous);

  const linked = input.crmEntityType && input.crmEntityId > 0
    ? state.crm.get(input.crmEntityType.toUpperCase(), input.crmEntityId)
    : undefined;
  let entity = linked ?? state.crm.findByPhone(input.phoneNumber)[0];
  let createdLeadId: number | null = null;
  const line = state.lines.find((l) => l.number === input.lineNumber);
  const autoCreate = input.type !== 1 || line?.crmAutoCreate !== "N";
  if (!entity && input.crmCreate && autoCreate) {
    entity = state.crm.createLead(input.phoneNumber, userId);
    createdLeadId = entity.id;
  }
  const call: ExternalCall = {
    callId: `externalCall.${randomHex(16)}.${Math.floor(now / 1000)}`,
    externalCallId: input.externalCallId || null,
    userId,
    phoneNumber: input.phoneNumber,
    lineNumber: input.lineNumber,
    type: input.type,
    startDate: input.callStartDate || isoSeconds(now),
    crmEntityType: entity?.type ?? null,
    crmEntityId: entity?.id ?? null,
    createdLeadId,
    shownTo: new Set(input.show ? [userId] : []),
    registeredAt: now,
    dedupeKey,
  };
  state.calls.set(call.callId, call);
  return resultOf(call);
}

/** Parameters of `telephony.externalCall.finish`, already read. */
export interface FinishInput {
  callId: string;
  userId: number;
  userPhoneInner: string;
  duration: number;
  cost: number;
  costCurrency: string;
  statusCode: string;
  failedReason: string;
  vote: number;
}

/** Finishes a registered call into a statistics row and returns the row. */
export function finishCall(state: PortalState, input: FinishInput): Record<string, unknown> {
  const userId = resolveCallUser(state, input.userId, input.userPhoneInner);
  const call = state.calls.get(input.callId);
  if (!call || call.finished) {
    throw coreError("Call is not found (call should be registered prior to finishing)");
  }
  const duration = Math.max(0, input.duration);
  const statusCode = input.statusCode || (duration > 0 ? "200" : "304");
  call.finished = {
    statId: state.nextId(),
    userId,
    duration,
    statusCode,
    failedReason: input.failedReason,
    cost: input.cost,
    costCurrency: input.costCurrency,
    vote: input.vote >= 1 && input.vote <= 5 ? input.vote : null,
    crmActivityId: call.crmEntityType ? state.nextId() : 0,
  };
  call.shownTo.clear();
  return statRow(state, call);
}

/**
 * The statistics rows of finished calls (what `voximplant.statistic.get` lists), oldest first;
 * an unfinished call has none.
 */
export function callStatistics(state: PortalState): Record<string, unknown>[] {
  return [...state.calls.values()].filter((c) => c.finished).map((c) => statRow(state, c));
}

function statRow(state: PortalState, call: ExternalCall): Record<string, unknown> {
  const f = call.finished!;
  return {
    CALL_ID: call.callId,
    EXTERNAL_CALL_ID: call.externalCallId,
    PORTAL_USER_ID: f.userId,
    PHONE_NUMBER: call.phoneNumber,
    PORTAL_NUMBER: call.lineNumber,
    INCOMING: String(call.type),
    CALL_DURATION: f.duration,
    // A PHP DateTime object: json_encode prints it as {} (as in the docs' example).
    CALL_START_DATE: {},
    CALL_STATUS: f.statusCode === "200" ? 1 : 0,
    CALL_VOTE: f.vote,
    COST: f.cost,
    COST_CURRENCY: f.costCurrency,
    CALL_FAILED_CODE: f.statusCode,
    CALL_FAILED_REASON: f.failedReason,
    REST_APP_ID: String(state.app.id),
    REST_APP_NAME: state.app.code,
    CRM_ACTIVITY_ID: f.crmActivityId || null,
    COMMENT: null,
    CRM_ENTITY_TYPE: call.crmEntityType,
    CRM_ENTITY_ID: call.crmEntityId,
    ID: f.statId,
  };
}
