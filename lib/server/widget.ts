/**
 * The widget API (`POST /api/bitrix/widget`): a table of actions, each with its access rule and
 * its handler, for a verified frame user. Admins manage app credentials, settings and every
 * employee's SIP account; a user reads their own account (with the password, for their phone)
 * and edits it when the portal allows. The requests (zod) and answers are the contract's
 * (`lib/shared/api/widget.ts`); the table is typed by it, so every action of the contract has
 * an entry here and answers what the contract says.
 *
 * @module
 */
import type { Config } from "./config.ts";
import type { FrameUser } from "./bitrix/frame_auth.ts";
import type { PortalClients } from "./bitrix/portal_clients.ts";
import type { CallerLookup } from "./bitrix/caller_lookup.ts";
import type { PortalRepo } from "./db/portals.ts";
import type { SipAccountRepo } from "./db/sip_accounts.ts";
import type { PortalChanges } from "./portal_changes.ts";
import { BadRequestError, ForbiddenError, NotFoundError } from "./errors.ts";
import { toSipAccountInput } from "./sip_account.ts";
import { turnRestServer } from "./turn_credentials.ts";
import type {
  IceServer,
  ParsedWidgetRequest,
  WidgetAnswer,
  WidgetEvent,
} from "../shared/api/widget.ts";

/**
 * Who may run an action:
 * - `employee`: any verified user of the portal;
 * - `admin`: the portal's administrators only;
 * - `owner`: the user the request names (`userId`) themself, or an administrator;
 * - `owner-when-allowed`: an administrator, or the user named by `userId` when the portal lets
 *   employees edit their own account (`usersEditOwnAccount`).
 */
export type Access = "employee" | "admin" | "owner" | "owner-when-allowed";

/** What the widget API needs. */
export interface WidgetDeps {
  config: Pick<Config, "TURN_URLS" | "TURN_SHARED_SECRET" | "TURN_CREDENTIAL_TTL_SECONDS">;
  portals: PortalRepo;
  sipAccounts: SipAccountRepo;
  bitrix: { clients: Pick<PortalClients, "forPortal">; callers: Pick<CallerLookup, "lookup"> };
  changes: Pick<PortalChanges, "changed">;
}

/** One action of the widget API: who may run it, and what it does for them. */
export interface WidgetAction<E extends WidgetEvent> {
  access: Access;
  run(services: WidgetDeps, user: FrameUser, req: ParsedWidgetRequest<E>): Promise<WidgetAnswer<E>>;
}

/** Why `user` may not run an action with `access` on `req`; undefined when they may. */
function refusal(access: Access, user: FrameUser, req: ParsedWidgetRequest): string | undefined {
  if (user.isAdmin || access === "employee") return undefined;
  const own = "userId" in req && req.userId === user.userId;
  if (access === "owner-when-allowed") {
    return own && user.portal.settings.usersEditOwnAccount
      ? undefined
      : "only an administrator can change this SIP account";
  }
  return access === "owner" && own ? undefined : "only a portal administrator can do this";
}

/** The operator's TURN server with `user`'s short-lived credentials, when one is configured. */
async function turnServers({ config }: WidgetDeps, user: FrameUser): Promise<IceServer[]> {
  if (!config.TURN_URLS?.length || !config.TURN_SHARED_SECRET) return [];
  const options = {
    urls: config.TURN_URLS,
    secret: config.TURN_SHARED_SECRET,
    ttlSeconds: config.TURN_CREDENTIAL_TTL_SECONDS,
  };
  return [await turnRestServer(options, `${user.portal.memberId}.${user.userId}`)];
}

/** The widget API's actions. */
export const widgetActions: { readonly [E in WidgetEvent]: WidgetAction<E> } = {
  GETME: {
    access: "employee",
    async run(services, user) {
      const { portal } = user;
      return {
        userId: user.userId,
        isAdmin: user.isAdmin,
        portal: {
          domain: portal.domain,
          appKind: portal.appKind,
          hasCredentials: portal.appKind === "marketplace" || Boolean(portal.clientId),
          serverTokens: Boolean(portal.tokenExpiresAt),
          usersEditOwnAccount: portal.settings.usersEditOwnAccount,
          iceServers: [...portal.settings.iceServers, ...await turnServers(services, user)],
        },
        account: await services.sipAccounts.getWithPassword(portal.id, user.userId) ?? null,
      };
    },
  },
  UPDATECREED: {
    access: "admin",
    async run(services, { portal }, req) {
      // A local app's client id is its code: another app's would break every token refresh.
      if (portal.appKind === "local" && portal.appCode && req.clientId !== portal.appCode) {
        throw new BadRequestError("the client id is not the installed app's", [
          { path: "clientId", message: `expected the installed app's code, ${portal.appCode}` },
        ]);
      }
      await services.portals.saveLocalCredentials(portal.id, req.clientId, req.secretId);
      services.changes.changed(portal);
      return { ok: true, clientId: req.clientId };
    },
  },
  GETUSERDATA: {
    access: "owner",
    async run({ sipAccounts }, user, req) {
      const portalId = user.portal.id;
      // The password only ever goes to its owner (for their phone); admins see `hasPassword`.
      const account = req.userId === user.userId
        ? await sipAccounts.getWithPassword(portalId, req.userId)
        : await sipAccounts.get(portalId, req.userId);
      return { account: account ?? null };
    },
  },
  SAVEUSERDATA: {
    access: "owner-when-allowed",
    async run({ sipAccounts }, { portal }, req) {
      return { account: await sipAccounts.upsert(portal.id, req.userId, toSipAccountInput(req)) };
    },
  },
  DELETEUSERDATA: {
    access: "admin",
    async run({ sipAccounts }, { portal }, req) {
      if (!(await sipAccounts.remove(portal.id, req.userId))) {
        throw new NotFoundError("the user has no SIP account");
      }
      return { ok: true };
    },
  },
  GETUSERSDATA: {
    access: "admin",
    async run({ sipAccounts }, { portal }, req) {
      return { accounts: await sipAccounts.listForUsers(portal.id, req.usersId) };
    },
  },
  GETPORTALUSERS: {
    access: "admin",
    async run(services, { portal }, req) {
      const client = await services.bitrix.clients.forPortal(portal);
      const page = await client.callPage<BitrixUser[]>("user.get", {
        // user.get's quick search is NAME_SEARCH; FIND (user.search's) would be ignored.
        FILTER: { ACTIVE: true, ...(req.search ? { NAME_SEARCH: req.search } : {}) },
        SORT: "LAST_NAME",
        ORDER: "ASC",
        start: req.start,
      });
      const ids = page.result.map((u) => Number(u.ID));
      const byUser = new Map(
        (await services.sipAccounts.listForUsers(portal.id, ids)).map((a) => [a.bitrixUserId, a]),
      );
      return {
        users: page.result.map((u) => ({
          id: Number(u.ID),
          name: [u.NAME, u.LAST_NAME].filter(Boolean).join(" ") || u.EMAIL || `#${u.ID}`,
          position: u.WORK_POSITION ?? "",
          photo: u.PERSONAL_PHOTO ?? null,
          account: byUser.get(Number(u.ID)) ?? null,
        })),
        next: page.next ?? null,
        total: page.total ?? page.result.length,
      };
    },
  },
  SAVESETTINGS: {
    access: "admin",
    async run(services, { portal }, req) {
      // The line first: when Bitrix24 refuses, the settings stay as they were.
      if (portal.externalLine && req.settings.crmCreate !== portal.settings.crmCreate) {
        const client = await services.bitrix.clients.forPortal(portal);
        await client.call("telephony.externalLine.update", {
          NUMBER: portal.externalLine,
          CRM_AUTO_CREATE: req.settings.crmCreate ? "Y" : "N",
        });
      }
      await services.portals.updateSettings(portal.id, req.settings);
      services.changes.changed(portal);
      return { settings: req.settings };
    },
  },
  GETPLACEMENTERRORS: {
    access: "admin",
    async run(services, { portal }) {
      const events = await services.portals.listEvents(portal.id, "placement_error", 20);
      return {
        errors: events.map((e) => ({ at: e.createdAt, ...e.details })),
        settings: portal.settings,
      };
    },
  },
  GETTRANSFERTARGET: {
    // Any employee may transfer a call to a colleague: only the address, never credentials.
    access: "employee",
    async run({ sipAccounts }, { portal }, req) {
      return { sipUri: (await sipAccounts.get(portal.id, req.userId))?.sipUri ?? null };
    },
  },
  GETCALLER: {
    // Who is calling an employee's phone: what the portal's CRM shows any employee.
    access: "employee",
    async run({ bitrix }, { portal }, req) {
      return { caller: await bitrix.callers.lookup(portal, req.number) };
    },
  },
};

/** Runs one widget request for `user` if its action's access rule lets them; returns the answer. */
export async function handleWidget<E extends WidgetEvent>(
  services: WidgetDeps,
  user: FrameUser,
  req: ParsedWidgetRequest<E>,
): Promise<WidgetAnswer<E>> {
  const action: WidgetAction<E> = widgetActions[req.event as E];
  const refused = refusal(action.access, user, req);
  if (refused) throw new ForbiddenError(refused);
  return await action.run(services, user, req);
}

interface BitrixUser {
  ID: string;
  NAME?: string;
  LAST_NAME?: string;
  EMAIL?: string;
  WORK_POSITION?: string;
  PERSONAL_PHOTO?: string;
}
