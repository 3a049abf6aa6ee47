/**
 * Events as the portal's queue server sends them: a form-encoded POST with PHP bracket keys
 * (`event`, `event_handler_id`, `data[...]`, `ts`, `auth[...]`), no retries. Bound handlers get
 * events only once the installation is finished.
 *
 * @module
 */
import { z } from "zod";
import { buildPhpQuery, parsePhpQuery } from "./php_query.ts";
import type { EventRecord } from "./records.ts";
import type { PortalState } from "./state.ts";

/** Events whose `auth` carries a refresh token (CORE `sendRefreshToken`). */
const WITH_REFRESH = new Set(["ONAPPINSTALL", "ONAPPUPDATE", "ONAPPTEST", "ONOFFLINEEVENT"]);
/** Events sent without tokens (CORE `sendAuth => false`). */
const WITHOUT_TOKENS = new Set(["ONAPPUNINSTALL", "ONAPPMETHODCONFIRM"]);

/** Who the `auth` block is for and what it contains. */
export interface EventAuthOptions {
  /** User whose fresh tokens the event carries; null = no tokens (automation, uninstall). */
  userId: number | null;
  withRefreshToken: boolean;
  /** Overrides the app's real application_token (to test forged events). */
  applicationToken?: string;
}

/** The `auth` block in SDK HandlerAuthParams order; tokens are freshly issued. */
export function eventAuth(state: PortalState, opts: EventAuthOptions): Record<string, string> {
  const e = state.endpoints;
  const applicationToken = opts.applicationToken ?? state.app.applicationToken;
  if (opts.userId === null) {
    return {
      domain: e.domain,
      server_endpoint: e.serverEndpoint,
      client_endpoint: e.clientEndpoint,
      member_id: state.memberId,
      application_token: applicationToken,
    };
  }
  const grant = state.issue(opts.userId);
  return {
    access_token: grant.accessToken,
    expires: String(Math.floor(grant.accessExpiresAt / 1000)),
    expires_in: String(state.tokens.expiresIn(grant)),
    scope: grant.scope.join(","),
    domain: e.domain,
    server_endpoint: e.serverEndpoint,
    status: state.app.status,
    client_endpoint: e.clientEndpoint,
    member_id: state.memberId,
    user_id: String(grant.userId),
    ...(opts.withRefreshToken ? { refresh_token: grant.refreshToken } : {}),
    application_token: applicationToken,
  };
}

/** POSTs one event body to `url` and records the delivery (failures are recorded, not thrown). */
export async function postEvent(
  state: PortalState,
  url: string,
  payload: Record<string, unknown>,
): Promise<EventRecord> {
  const body = buildPhpQuery(payload);
  const at = state.clock.now();
  const event = String(payload.event);
  let record: EventRecord;
  try {
    const res = await fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      signal: AbortSignal.timeout(10_000),
    });
    await res.body?.cancel();
    record = { event, url, body: parsePhpQuery(body), at, status: res.status };
  } catch (err) {
    record = { event, url, body: parsePhpQuery(body), at, status: null, error: String(err) };
  }
  state.records.addEvent(record);
  return record;
}

/** Builds the payload of one event. */
export function eventPayload(
  state: PortalState,
  event: string,
  data: Record<string, unknown>,
  auth: Record<string, string>,
  handlerId?: number,
): Record<string, unknown> {
  return {
    event,
    ...(handlerId === undefined ? {} : { event_handler_id: String(handlerId) }),
    data,
    ts: String(state.clock.unix()),
    auth,
  };
}

/**
 * Fires an event the way the portal does: one POST per bound online handler, in binding order,
 * with tokens of the handler's `auth_type` user or else of `actorUserId`. Nothing is sent before
 * the installation is finished or after uninstall.
 */
export async function fireEvent(
  state: PortalState,
  name: string,
  data: Record<string, unknown>,
  actorUserId: number | null,
): Promise<EventRecord[]> {
  const event = name.toUpperCase();
  if (!state.app.installed || state.app.removed) return [];
  const handlers = state.eventHandlers.filter((h) => h.event === event && !h.offline);
  const out: EventRecord[] = [];
  for (const h of handlers) {
    const userId = WITHOUT_TOKENS.has(event) ? null : h.authType || actorUserId;
    const auth = eventAuth(state, { userId, withRefreshToken: WITH_REFRESH.has(event) });
    out.push(await postEvent(state, h.handler, eventPayload(state, event, data, auth, h.id)));
  }
  return out;
}

/** Input of `deliverEvent`: one event POSTed to any URL, bound or not. */
export const deliverEventSchema = z.object({
  url: z.url(),
  event: z.string().min(1),
  data: z.record(z.string(), z.unknown()).default({}),
  /** Defaults to the app's real token. */
  applicationToken: z.string().optional(),
  /** Whose tokens to send; null = none. Default: none for ONAPPUNINSTALL, else the first admin. */
  userId: z.number().int().positive().nullable().optional(),
  /** Default: true for ONAPPINSTALL-like events. */
  withRefreshToken: z.boolean().optional(),
  handlerId: z.number().int().positive().optional(),
});

/** Input of `deliverEvent`. */
export type DeliverEventInput = z.input<typeof deliverEventSchema>;

/** The first active administrator (the default acting user). */
export function firstAdmin(state: PortalState): number {
  const admin = state.users.list().find((u) => u.admin && u.active);
  if (!admin) throw new Error("the portal has no active administrator");
  return admin.id;
}

/** Sends one event to a URL now, whatever is bound. */
export function deliverEvent(state: PortalState, input: DeliverEventInput): Promise<EventRecord> {
  const d = deliverEventSchema.parse(input);
  const event = d.event.toUpperCase();
  const userId = d.userId !== undefined
    ? d.userId
    : WITHOUT_TOKENS.has(event)
    ? null
    : firstAdmin(state);
  const auth = eventAuth(state, {
    userId,
    withRefreshToken: d.withRefreshToken ?? WITH_REFRESH.has(event),
    applicationToken: d.applicationToken,
  });
  return postEvent(state, d.url, eventPayload(state, event, d.data, auth, d.handlerId));
}
