/**
 * The widget API (`POST /api/bitrix/widget`): the original design's events as a zod
 * discriminated union, each handled for a verified frame user. Admins manage app credentials,
 * settings and every employee's SIP account; a user reads their own account (with the password,
 * for their phone) and edits it when the portal allows.
 *
 * @module
 */
import { z } from "zod";
import type { FrameUser } from "./bitrix/frame_auth.ts";
import type { PortalClients } from "./bitrix/portal_clients.ts";
import { type PortalRepo, portalSettingsSchema } from "./db/portals.ts";
import type { SipAccountRepo } from "./db/sip_accounts.ts";
import type { PortalChanges } from "./portal_changes.ts";
import { ForbiddenError, NotFoundError, UpstreamError } from "./errors.ts";
import { sipAccountFields, toSipAccountInput } from "./sip_account.ts";
import { BitrixApiError } from "./bitrix/rest.ts";

const userId = z.coerce.number().int().positive().max(2 ** 31 - 1);

/** The widget requests (built once per setting: zod schemas are costly to construct). */
export function widgetRequestSchema(allowInsecureLoopback: boolean) {
  return (widgetSchemas[String(allowInsecureLoopback)] ??= buildWidgetSchema(
    allowInsecureLoopback,
  ));
}

const widgetSchemas: Record<string, ReturnType<typeof buildWidgetSchema>> = {};

function buildWidgetSchema(allowInsecureLoopback: boolean) {
  const account = sipAccountFields(allowInsecureLoopback);
  return z.discriminatedUnion("event", [
    z.object({ event: z.literal("GETME") }),
    z.object({
      event: z.literal("UPDATECREED"),
      clientId: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/),
      secretId: z.string().min(1).max(200),
    }),
    z.object({ event: z.literal("GETUSERDATA"), userId }),
    z.object({ event: z.literal("SAVEUSERDATA"), userId, ...account }),
    z.object({ event: z.literal("DELETEUSERDATA"), userId }),
    z.object({ event: z.literal("GETUSERSDATA"), usersId: z.array(userId).max(200) }),
    z.object({
      event: z.literal("GETPORTALUSERS"),
      search: z.string().trim().max(100).optional(),
      start: z.coerce.number().int().min(0).max(100_000).default(0),
    }),
    z.object({ event: z.literal("SAVESETTINGS"), settings: portalSettingsSchema }),
    z.object({ event: z.literal("GETPLACEMENTERRORS") }),
    z.object({ event: z.literal("GETTRANSFERTARGET"), userId }),
  ]);
}

/** A parsed widget request. */
export type WidgetRequest = z.output<ReturnType<typeof buildWidgetSchema>>;

function requireAdmin(user: FrameUser): void {
  if (!user.isAdmin) throw new ForbiddenError("only a portal administrator can do this");
}

/** What the widget API needs. */
export interface WidgetDeps {
  portals: PortalRepo;
  sipAccounts: SipAccountRepo;
  bitrix: { clients: Pick<PortalClients, "forPortal"> };
  changes: Pick<PortalChanges, "changed">;
}

/** Runs one widget request for `user`; returns the JSON answer. */
export async function handleWidget(
  services: WidgetDeps,
  user: FrameUser,
  req: WidgetRequest,
): Promise<unknown> {
  const { portal } = user;
  const accounts = services.sipAccounts;
  switch (req.event) {
    case "GETME": {
      const own = await accounts.getWithPassword(portal.id, user.userId);
      return {
        userId: user.userId,
        isAdmin: user.isAdmin,
        portal: {
          domain: portal.domain,
          appKind: portal.appKind,
          hasCredentials: portal.appKind === "marketplace" || Boolean(portal.clientId),
          /** False: the server-side token pair is dead and no administrator renewed it yet. */
          serverTokens: Boolean(portal.tokenExpiresAt),
          usersEditOwnAccount: portal.settings.usersEditOwnAccount,
          iceServers: portal.settings.iceServers,
        },
        account: own ?? null,
      };
    }
    case "UPDATECREED":
      requireAdmin(user);
      await services.portals.saveLocalCredentials(portal.id, req.clientId, req.secretId);
      services.changes.changed(portal);
      return { ok: true, clientId: req.clientId };
    case "GETUSERDATA": {
      if (req.userId === user.userId) {
        return { account: await accounts.getWithPassword(portal.id, req.userId) ?? null };
      }
      requireAdmin(user);
      return { account: await accounts.get(portal.id, req.userId) ?? null };
    }
    case "SAVEUSERDATA": {
      const own = req.userId === user.userId;
      if (!user.isAdmin && !(own && portal.settings.usersEditOwnAccount)) {
        throw new ForbiddenError("only an administrator can change this SIP account");
      }
      const saved = await accounts.upsert(portal.id, req.userId, toSipAccountInput(req));
      return { account: saved };
    }
    case "DELETEUSERDATA":
      requireAdmin(user);
      if (!(await accounts.remove(portal.id, req.userId))) {
        throw new NotFoundError("the user has no SIP account");
      }
      return { ok: true };
    case "GETUSERSDATA":
      requireAdmin(user);
      return { accounts: await accounts.listForUsers(portal.id, req.usersId) };
    case "GETPORTALUSERS": {
      requireAdmin(user);
      const client = await services.bitrix.clients.forPortal(portal);
      let page;
      try {
        page = await client.callPage<BitrixUser[]>("user.get", {
          // user.get's quick search is NAME_SEARCH; FIND (user.search's) would be ignored.
          FILTER: { ACTIVE: true, ...(req.search ? { NAME_SEARCH: req.search } : {}) },
          SORT: "LAST_NAME",
          ORDER: "ASC",
          start: req.start,
        });
      } catch (err) {
        if (err instanceof BitrixApiError) {
          throw new UpstreamError("bitrix24", `user.get failed: ${err.code}`);
        }
        throw err;
      }
      const ids = page.result.map((u) => Number(u.ID));
      const byUser = new Map(
        (await accounts.listForUsers(portal.id, ids)).map((a) => [a.bitrixUserId, a]),
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
    }
    case "SAVESETTINGS":
      requireAdmin(user);
      // The line first: when Bitrix24 refuses, the settings stay as they were.
      if (portal.externalLine && req.settings.crmCreate !== portal.settings.crmCreate) {
        await updateLineCrmAutoCreate(services, portal, req.settings.crmCreate);
      }
      await services.portals.updateSettings(portal.id, req.settings);
      services.changes.changed(portal);
      return { settings: req.settings };
    case "GETTRANSFERTARGET": {
      // Any employee may transfer a call to a colleague: only the address, never credentials.
      const account = await accounts.get(portal.id, req.userId);
      return { sipUri: account?.sipUri ?? null };
    }
    case "GETPLACEMENTERRORS":
      requireAdmin(user);
      return {
        errors: (await services.portals.listEvents(portal.id, "placement_error", 20)).map((e) => ({
          at: e.createdAt,
          ...e.details,
        })),
        settings: portal.settings,
      };
  }
}

/** The external line creates CRM records as the portal setting says (`CRM_AUTO_CREATE`). */
async function updateLineCrmAutoCreate(
  services: WidgetDeps,
  portal: FrameUser["portal"],
  crmCreate: boolean,
): Promise<void> {
  const client = await services.bitrix.clients.forPortal(portal);
  try {
    await client.call("telephony.externalLine.update", {
      NUMBER: portal.externalLine,
      CRM_AUTO_CREATE: crmCreate ? "Y" : "N",
    });
  } catch (err) {
    if (err instanceof BitrixApiError) {
      throw new UpstreamError("bitrix24", `telephony.externalLine.update failed: ${err.code}`);
    }
    throw err;
  }
}

interface BitrixUser {
  ID: string;
  NAME?: string;
  LAST_NAME?: string;
  EMAIL?: string;
  WORK_POSITION?: string;
  PERSONAL_PHOTO?: string;
}
