/**
 * The widget API's contract (`POST /api/bitrix/widget`): each action's request schema (the server
 * validates with it; the islands send its input type) and the answer it gets back. The server's
 * table of actions (`lib/server/widget.ts`) is typed by this map, so an answer that drifts from
 * the contract fails `deno check`, and `lib/browser/frame_api.ts` calls actions by name.
 *
 * @module
 */
import { z } from "zod";

const SIP_USER = /^[A-Za-z0-9._~+!$&'()*,;=%-]{1,64}$/;
const SIP_URI = /^sips?:[A-Za-z0-9._~+!$&'()*,;=%-]{1,64}@[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;
const LOOPBACK_HOSTS = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
const ICE_URL = /^(stun|stuns|turn|turns):\S{1,250}$/;

/**
 * The fields of a SIP account as admins and users enter them: a `wss://` WebSocket URL (`ws://`
 * only for loopback when `allowInsecureLoopback`, in development), a SIP login, an optional SIP
 * URI (derived from the login and the server's host when absent), a password and a display name.
 */
export function sipAccountFields(allowInsecureLoopback: boolean) {
  return {
    url: z.string().max(300).refine((value) => {
      try {
        const url = new URL(value);
        if (url.protocol === "wss:") return true;
        return url.protocol === "ws:" && allowInsecureLoopback && LOOPBACK_HOSTS.test(url.hostname);
      } catch {
        return false;
      }
    }, "must be a wss:// URL"),
    user: z.string().regex(SIP_USER, "SIP login: letters, digits and . _ ~ + - only"),
    password: z.string().min(1).max(128).optional(),
    sipUri: z.string().regex(SIP_URI, "SIP URI like sip:101@pbx.example.com").optional(),
    displayName: z.string().trim().max(100).optional(),
  };
}

/** Parsed SIP account fields. */
export type SipAccountFields = z.output<z.ZodObject<ReturnType<typeof sipAccountFields>>>;

/** A STUN/TURN server handed to the portal's phones. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** Per-portal settings an admin edits. */
export interface PortalSettings {
  /** Create CRM leads/contacts for unknown numbers (`CRM_CREATE`). */
  crmCreate: boolean;
  /** When Bitrix24 shows the call card (`SHOW`): always, or never (the phone page only). */
  showCard: boolean;
  /** Whether employees may edit their own SIP account. */
  usersEditOwnAccount: boolean;
  /** STUN/TURN servers handed to every phone of the portal. */
  iceServers: IceServer[];
  /** Days a call stays in the app's journal before it is deleted (Bitrix24 keeps its own). */
  callRetentionDays: number;
}

/** How long calls are kept when a portal has not chosen (days). */
export const DEFAULT_CALL_RETENTION_DAYS = 365;

/** The portal settings, with defaults for what a stored or sent object leaves out. */
export const portalSettingsSchema = z.object({
  crmCreate: z.boolean().default(true),
  showCard: z.boolean().default(true),
  usersEditOwnAccount: z.boolean().default(false),
  iceServers: z.array(z.object({
    urls: z.union([z.string().regex(ICE_URL), z.array(z.string().regex(ICE_URL)).min(1).max(5)]),
    username: z.string().max(200).optional(),
    credential: z.string().max(200).optional(),
  })).max(10).default([]),
  callRetentionDays: z.number().int().min(30).max(3650).default(DEFAULT_CALL_RETENTION_DAYS),
}) satisfies z.ZodType<PortalSettings, unknown>;

/** A Bitrix24 user id (numeric strings are accepted; islands send numbers). */
const userId = z.coerce.number<number>().int().positive().max(2 ** 31 - 1);

const action = <E extends string, S extends z.ZodRawShape>(event: E, shape: S) =>
  z.object({ event: z.literal(event), ...shape });

function buildRequestSchemas(allowInsecureLoopback: boolean) {
  const account = sipAccountFields(allowInsecureLoopback);
  return {
    GETME: action("GETME", {}),
    UPDATECREED: action("UPDATECREED", {
      clientId: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
      secretId: z.string().min(1).max(200),
    }),
    GETUSERDATA: action("GETUSERDATA", { userId }),
    SAVEUSERDATA: action("SAVEUSERDATA", { userId, ...account }),
    DELETEUSERDATA: action("DELETEUSERDATA", { userId }),
    GETUSERSDATA: action("GETUSERSDATA", { usersId: z.array(userId).max(200) }),
    GETPORTALUSERS: action("GETPORTALUSERS", {
      search: z.string().trim().max(100).optional(),
      start: z.coerce.number<number>().int().min(0).max(100_000).default(0),
    }),
    SAVESETTINGS: action("SAVESETTINGS", { settings: portalSettingsSchema }),
    GETPLACEMENTERRORS: action("GETPLACEMENTERRORS", {}),
    GETTRANSFERTARGET: action("GETTRANSFERTARGET", { userId }),
    GETCALLER: action("GETCALLER", {
      number: z.string().trim().min(1).max(64).regex(/^[0-9A-Za-z+*#()\-. @_:]+$/),
    }),
  };
}

/** Each action's request schema. */
export type WidgetRequestSchemas = ReturnType<typeof buildRequestSchemas>;

/** The widget API's actions. */
export type WidgetEvent = keyof WidgetRequestSchemas;

/** What a client sends for `E` (fields with defaults may be left out). */
export type WidgetRequest<E extends WidgetEvent = WidgetEvent> = {
  [K in E]: z.input<WidgetRequestSchemas[K]>;
}[E];

/** A request of `E` as the server receives it, validated and with defaults filled in. */
export type ParsedWidgetRequest<E extends WidgetEvent = WidgetEvent> = {
  [K in E]: z.output<WidgetRequestSchemas[K]>;
}[E];

const requestSchemas: Record<string, WidgetRequestSchemas> = {};
const unionSchemas: Record<string, z.ZodType<ParsedWidgetRequest, WidgetRequest>> = {};

/** Each action's request schema (built once per setting: zod schemas are costly to construct). */
export function widgetRequestSchemas(allowInsecureLoopback: boolean): WidgetRequestSchemas {
  return requestSchemas[String(allowInsecureLoopback)] ??= buildRequestSchemas(
    allowInsecureLoopback,
  );
}

/** Any widget request, told apart by its `event`. */
export function widgetRequestSchema(
  allowInsecureLoopback: boolean,
): z.ZodType<ParsedWidgetRequest, WidgetRequest> {
  return unionSchemas[String(allowInsecureLoopback)] ??= z.discriminatedUnion(
    "event",
    Object.values(widgetRequestSchemas(allowInsecureLoopback)) as [
      WidgetRequestSchemas[WidgetEvent],
      ...WidgetRequestSchemas[WidgetEvent][],
    ],
  );
}

/** A SIP account as admins and lists see it: never its password, only whether one is set. */
export interface SipAccountView {
  id: string;
  bitrixUserId: number;
  wsUrl: string;
  sipUri: string;
  authUser: string;
  displayName: string | null;
  hasPassword: boolean;
  updatedAt: Date;
}

/** The caller's own SIP account, with the password their phone registers with. */
export interface OwnSipAccount extends SipAccountView {
  password: string;
}

/** Who the frame's user is, and what their phone needs (`GETME`). */
export interface Me {
  userId: number;
  isAdmin: boolean;
  portal: {
    domain: string;
    appKind: "marketplace" | "local";
    /** A Marketplace app, or a local one whose client id and secret were saved. */
    hasCredentials: boolean;
    /** False: the server-side token pair is dead and no administrator renewed it yet. */
    serverTokens: boolean;
    usersEditOwnAccount: boolean;
    iceServers: IceServer[];
  };
  account: OwnSipAccount | null;
}

/** An active employee of the portal with their SIP account (the admin panel's list). */
export interface Employee {
  id: number;
  name: string;
  position: string;
  photo: string | null;
  account: SipAccountView | null;
}

/** A problem Bitrix24 reported about a placement (its `errorHandlerUrl` body). */
export interface PlacementErrorReport {
  at: Date;
  error?: string;
  error_description?: string;
  [field: string]: unknown;
}

/** What each action answers. */
export interface WidgetAnswers {
  GETME: Me;
  UPDATECREED: { ok: true; clientId: string };
  /** The account; with its password when it is the caller's own. */
  GETUSERDATA: { account: SipAccountView | OwnSipAccount | null };
  SAVEUSERDATA: { account: SipAccountView };
  DELETEUSERDATA: { ok: true };
  GETUSERSDATA: { accounts: SipAccountView[] };
  /** One page of employees; `next` is the `start` of the next page. */
  GETPORTALUSERS: { users: Employee[]; next: number | null; total: number };
  SAVESETTINGS: { settings: PortalSettings };
  GETPLACEMENTERRORS: { errors: PlacementErrorReport[]; settings: PortalSettings };
  /** A colleague's SIP address (never their credentials), or null without an account. */
  GETTRANSFERTARGET: { sipUri: string | null };
  /** Who is calling, as the portal's CRM knows the number; null when it does not. */
  GETCALLER: { caller: CallerInfo | null };
}

/**
 * A caller as the CRM knows them (`telephony.externalCall.searchCrmEntities`, its first
 * record): the name, the company when a company has the number too, the responsible employee.
 */
export interface CallerInfo {
  name: string;
  entityType: "CONTACT" | "COMPANY" | "LEAD";
  entityId: number;
  /** A company record with the same number (when the first record is not that company). */
  company: string | null;
  /** The responsible employee's Bitrix24 user id, and their internal number. */
  responsibleId: number | null;
  responsiblePhoneInner: string | null;
}

/** The answer of `E`, as the server builds it. */
export type WidgetAnswer<E extends WidgetEvent> = WidgetAnswers[E];
