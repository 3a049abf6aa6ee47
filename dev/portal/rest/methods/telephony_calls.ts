/**
 * `telephony.externalCall.register/finish/show/hide/attachRecord/searchCrmEntities`
 * (scope `telephony`); the call logic itself is in `../../telephony.ts`.
 *
 * @module
 */
import { callStatistics, finishCall, registerCall } from "../../telephony.ts";
import { type MethodContext, type MethodSpec, paged } from "../context.ts";
import { coreError, restError } from "../errors.ts";
import { int, str, upperKeys } from "../params.ts";

function flag(v: unknown, fallback: boolean): boolean {
  return v === undefined || v === "" ? fallback : int(v) === 1;
}

function register(ctx: MethodContext): unknown {
  const p = upperKeys(ctx.params);
  return registerCall(ctx.state, {
    userId: int(p.USER_ID),
    userPhoneInner: str(p.USER_PHONE_INNER),
    phoneNumber: str(p.PHONE_NUMBER),
    type: int(p.TYPE),
    callStartDate: str(p.CALL_START_DATE),
    crmCreate: flag(p.CRM_CREATE, false),
    crmEntityType: str(p.CRM_ENTITY_TYPE),
    crmEntityId: int(p.CRM_ENTITY_ID),
    show: flag(p.SHOW, true),
    lineNumber: str(p.LINE_NUMBER),
    externalCallId: str(p.EXTERNAL_CALL_ID),
  });
}

function finish(ctx: MethodContext): unknown {
  const p = upperKeys(ctx.params);
  if (p.CALL_ID !== undefined && typeof p.CALL_ID !== "string") {
    throw restError("INVALID_ARGUMENT", "CALL_ID must be a string");
  }
  return finishCall(ctx.state, {
    callId: str(p.CALL_ID),
    userId: int(p.USER_ID),
    userPhoneInner: str(p.USER_PHONE_INNER),
    duration: int(p.DURATION),
    cost: Number(str(p.COST)) || 0,
    costCurrency: str(p.COST_CURRENCY),
    statusCode: str(p.STATUS_CODE),
    failedReason: str(p.FAILED_REASON),
    vote: int(p.VOTE),
  });
}

function userList(v: unknown): number[] {
  return (Array.isArray(v) ? v : [v]).map(int).filter((n) => n > 0);
}

function showOrHide(show: boolean) {
  return (ctx: MethodContext): unknown => {
    const p = upperKeys(ctx.params);
    const call = ctx.state.calls.get(str(p.CALL_ID));
    if (!call) return false;
    const users = p.USER_ID === undefined ? [call.userId] : userList(p.USER_ID);
    for (const u of users) show ? call.shownTo.add(u) : call.shownTo.delete(u);
    return true;
  };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

async function download(url: string): Promise<void> {
  let status: number;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    status = res.status;
  } catch {
    status = 0;
  }
  if (status < 200 || status >= 300) throw coreError(`Server returns HTTP error code ${status}`);
}

async function attachRecord(ctx: MethodContext): Promise<unknown> {
  const p = upperKeys(ctx.params);
  const url = str(p.RECORD_URL);
  if (url === "" && p.FILENAME === undefined) {
    throw coreError(
      "Required parameters are not set. Request should contain either URL or FILENAME parameter",
    );
  }
  const fileName = str(p.FILENAME) || url.split("/").pop()?.split("?")[0] || "";
  if (fileName === "") throw coreError("File name is empty");
  if (!/\.(wav|mp3)$/i.test(fileName)) {
    throw coreError("Wrong file extension. Only wav and mp3 are allowed");
  }
  const call = ctx.state.calls.get(str(p.CALL_ID));
  if (!call?.finished) {
    throw coreError(
      "Call is not found in the statistic table. It looks like it is not finished yet.",
    );
  }
  if (url !== "") {
    await download(url);
  } else if (p.FILE_CONTENT === undefined) {
    // ⚠ The upload endpoint behind uploadUrl is not emulated.
    return {
      uploadUrl:
        `${ctx.state.endpoints.clientEndpoint}upload.json?token=telephony%7C${call.callId}`,
      fieldName: "file",
    };
  } else {
    const content = str(p.FILE_CONTENT);
    if (content === "") throw coreError("File content is empty.");
    if (!BASE64.test(content) || content.length % 4 !== 0) {
      throw coreError("File content is not properly encoded. Base64 encoding is expected.");
    }
  }
  const fileId = ctx.state.nextId();
  call.record = { fileId, fileName, ...(url ? { url } : {}) };
  return { FILE_ID: fileId };
}

function searchCrmEntities(ctx: MethodContext): unknown {
  const phone = str(upperKeys(ctx.params).PHONE_NUMBER);
  if (phone === "") throw coreError("PHONE_NUMBER is empty");
  return ctx.state.crm.findByPhone(phone).map((e) => {
    const u = ctx.state.users.get(e.assignedById);
    return {
      CRM_ENTITY_TYPE: e.type,
      CRM_ENTITY_ID: e.id,
      ASSIGNED_BY_ID: e.assignedById,
      NAME: e.name,
      ASSIGNED_BY: {
        ID: String(e.assignedById),
        TIMEMAN_STATUS: u?.timemanStatus ?? "UNAVAILABLE",
        USER_PHONE_INNER: u?.phoneInner || null,
        WORK_PHONE: u?.workPhone || null,
        PERSONAL_PHONE: u?.personalPhone || null,
        PERSONAL_MOBILE: u?.personalMobile || null,
      },
    };
  });
}

/** The FILTER fields `voximplant.statistic.get` is asked with here (exact match). */
const STATISTIC_FILTERS = ["CALL_ID", "PORTAL_USER_ID", "PHONE_NUMBER", "CALL_FAILED_CODE"];

/**
 * `voximplant.statistic.get`: the call statistics, 50 a page. Only exact matches of
 * {@link STATISTIC_FILTERS} are emulated (any other key or operator is refused rather than
 * ignored). An employee sees their own calls, an administrator everyone's (the default
 * "Call statistics — view" permission).
 */
function statisticGet(ctx: MethodContext): unknown {
  const p = upperKeys(ctx.params);
  const filter = (p.FILTER ?? {}) as Record<string, unknown>;
  if (typeof filter !== "object" || Array.isArray(filter)) {
    throw restError("INVALID_FILTER", "FILTER must be an object");
  }
  const unsupported = Object.keys(filter).filter((k) => !STATISTIC_FILTERS.includes(k));
  if (unsupported.length) {
    throw restError("UNSUPPORTED_FILTER", `not emulated: ${unsupported.join(", ")}`);
  }
  const rows = callStatistics(ctx.state).filter((row) =>
    (ctx.caller.user.admin || row.PORTAL_USER_ID === ctx.caller.user.id) &&
    Object.entries(filter).every(([k, v]) => String(row[k]) === String(v))
  );
  return paged(rows, ctx.start);
}

/** External call methods. */
export const CALL_METHODS: Record<string, MethodSpec> = {
  "telephony.externalcall.register": { scopes: ["telephony"], run: register },
  "telephony.externalcall.finish": { scopes: ["telephony"], run: finish },
  "telephony.externalcall.show": { scopes: ["telephony"], run: showOrHide(true) },
  "telephony.externalcall.hide": { scopes: ["telephony"], run: showOrHide(false) },
  "telephony.externalcall.attachrecord": { scopes: ["telephony"], run: attachRecord },
  "telephony.externalcall.searchcrmentities": { scopes: ["telephony"], run: searchCrmEntities },
  "voximplant.statistic.get": { scopes: ["telephony"], run: statisticGet },
};
