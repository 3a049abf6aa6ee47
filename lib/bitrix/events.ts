/**
 * Bitrix24 events posted to the app (form-encoded, bracket keys): parsed with zod and
 * authenticated by the portal's `application_token`, compared in constant time with the stored
 * hash. ONAPPINSTALL, which brings the token, is trusted only when the portal accepts the
 * access token it carries (or when it matches the stored hash).
 *
 * @module
 */
import { z } from "zod";
import type { Services } from "../services.ts";
import { type Portal, type PortalRepo, sha256Hex } from "../db/portals.ts";
import { UnauthorizedError } from "../errors.ts";
import { log } from "../log.ts";
import { isOurApp, whoIs } from "./frame_auth.ts";
import { pickLang, t } from "../i18n.ts";

const eventAuthSchema = z.object({
  member_id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  application_token: z.string().min(1).max(200),
  domain: z.string().max(260).optional(),
  client_endpoint: z.string().max(300).optional(),
  server_endpoint: z.string().max(300).optional(),
  access_token: z.string().max(500).optional(),
  refresh_token: z.string().max(500).optional(),
  expires_in: z.coerce.number().optional(),
  scope: z.string().max(500).optional(),
});

/** The events the app handles (event names compared case-insensitively). */
export const bitrixEventSchema = z.preprocess(
  (body) =>
    body && typeof body === "object" && typeof (body as { event?: unknown }).event === "string"
      ? { ...body, event: (body as { event: string }).event.toUpperCase() }
      : body,
  z.discriminatedUnion("event", [
    z.object({
      event: z.literal("ONAPPINSTALL"),
      data: z.object({
        VERSION: z.string().optional(),
        LANGUAGE_ID: z.string().max(5).optional(),
      }).default({}),
      auth: eventAuthSchema,
    }),
    z.object({
      event: z.literal("ONAPPUNINSTALL"),
      data: z.object({ CLEAN: z.enum(["0", "1"]).default("0") }).default({
        CLEAN: "0",
      }),
      auth: eventAuthSchema,
    }),
    z.object({
      event: z.literal("ONEXTERNALCALLSTART"),
      data: z.object({
        PHONE_NUMBER: z.string().min(1).max(64),
        PHONE_NUMBER_INTERNATIONAL: z.string().max(64).optional(),
        USER_ID: z.coerce.number().int().positive(),
        CALL_ID: z.string().min(1).max(200),
        /** "1" when the call was started in the Bitrix24 mobile app (no call card appears). */
        IS_MOBILE: z.string().max(5).optional(),
        LINE_NUMBER: z.string().max(64).optional(),
        CRM_ENTITY_TYPE: z.string().max(32).optional(),
        CRM_ENTITY_ID: z.string().max(32).optional(),
      }),
      auth: eventAuthSchema,
    }),
  ]),
);

/** A parsed event. */
export type BitrixEvent = z.output<typeof bitrixEventSchema>;

/** How long a verified application token is trusted without reading the portal again. */
const VERIFIED_TTL_MS = 5_000;

/**
 * Checks events' application tokens against the stored hash and remembers a match for a few
 * seconds, so a burst of events from one portal reads its row once. Refusals are not
 * remembered. An install or uninstall handled here forgets the portal at once; one handled by
 * another instance is seen here within {@link VERIFIED_TTL_MS}.
 */
export class EventAuthenticator {
  private readonly verified = new Map<string, { portal: Portal; at: number }>();

  constructor(private readonly portals: PortalRepo, private readonly maxEntries = 10_000) {}

  /** The portal whose application token this is, or undefined. */
  async verify(memberId: string, token: string): Promise<Portal | undefined> {
    const key = sha256Hex(`${memberId}\n${token}`);
    const hit = this.verified.get(key);
    if (hit && Date.now() - hit.at < VERIFIED_TTL_MS) return hit.portal;
    const portal = await this.portals.verifyApplicationToken(memberId, token);
    if (!portal) {
      this.verified.delete(key);
      return undefined;
    }
    if (this.verified.size >= this.maxEntries) this.verified.clear();
    this.verified.set(key, { portal, at: Date.now() });
    return portal;
  }

  /** Forgets every verified token of a portal (its token or its state changed). */
  forgetPortal(portalId: string): void {
    for (const [key, { portal }] of this.verified) {
      if (portal.id === portalId) this.verified.delete(key);
    }
  }
}

/** The portal the event's `application_token` belongs to; throws 401 otherwise. */
async function authenticate(services: Services, event: BitrixEvent): Promise<Portal> {
  const portal = await services.bitrix.eventAuth.verify(
    event.auth.member_id,
    event.auth.application_token,
  );
  if (!portal) {
    log.warn("bitrix24 event rejected", { event: event.event, memberId: event.auth.member_id });
    throw new UnauthorizedError("unknown portal or application token");
  }
  return portal;
}

/**
 * ONAPPINSTALL: stores the application token. The first one for a portal is accepted only if
 * the portal (at its stored address) accepts the event's access token for our app.
 */
export async function handleAppInstall(services: Services, event: BitrixEvent): Promise<Portal> {
  const { auth } = event;
  const known = await services.portals.verifyApplicationToken(
    auth.member_id,
    auth.application_token,
  );
  if (known) {
    await services.bitrix.clients.noteServerEndpoint(known, auth.server_endpoint);
    return known;
  }
  const portal = await services.portals.findByMemberId(auth.member_id);
  if (!portal || !auth.access_token) {
    throw new UnauthorizedError("unknown portal or application token");
  }
  const who = await whoIs(portal, auth.access_token).catch(() => undefined);
  if (!who || !(await isOurApp(who.app.CODE, portal, services))) {
    throw new UnauthorizedError("the event's token is not accepted by the portal");
  }
  await services.portals.setApplicationToken(portal.id, auth.application_token);
  services.bitrix.eventAuth.forgetPortal(portal.id);
  await services.bitrix.clients.noteServerEndpoint(portal, auth.server_endpoint);
  if (auth.refresh_token) {
    await services.portals.saveTokens(portal.id, {
      accessToken: auth.access_token,
      refreshToken: auth.refresh_token,
      expiresAt: new Date(Date.now() + (auth.expires_in ?? 3600) * 1000),
    });
    services.bitrix.clients.forget(portal.id);
  }
  await services.portals.recordEvent(portal, "app_install_event", { userId: who.userId });
  return portal;
}

/** Everything but ONAPPINSTALL, after the application token is checked. */
export async function handleEvent(services: Services, event: BitrixEvent): Promise<void> {
  const portal = await authenticate(services, event);
  switch (event.event) {
    case "ONAPPINSTALL":
      return;
    case "ONAPPUNINSTALL": {
      const clean = event.data.CLEAN === "1";
      await services.portals.uninstall(portal.id, clean);
      services.bitrix.clients.forget(portal.id);
      services.bitrix.frameAuth.forgetPortal(portal.id);
      services.bitrix.eventAuth.forgetPortal(portal.id);
      await services.portals.recordEvent(
        { id: clean ? null : portal.id, memberId: portal.memberId },
        "uninstall",
        { clean },
      );
      log.info("portal uninstalled", { memberId: portal.memberId, clean });
      return;
    }
    case "ONEXTERNALCALLSTART": {
      const { data } = event;
      const outcome = await services.calls.recordClickToCall({
        portalId: portal.id,
        bitrixUserId: data.USER_ID,
        bitrixCallId: data.CALL_ID,
        phoneNumber: data.PHONE_NUMBER_INTERNATIONAL || data.PHONE_NUMBER,
        startedAt: new Date(),
      });
      if (outcome === "recorded" && data.IS_MOBILE === "1") {
        // The mobile app raises no call card, so no browser phone learns of this call: say so
        // in Bitrix24's history now instead of a cancelled call ten minutes later.
        const ended = await services.calls.endUndialledClickToCall(portal.id, data.CALL_ID, {
          sipStatus: 480,
          failedReason: t(pickLang(portal.lang), "mobileClickToCall"),
        });
        if (ended) services.bitrix.callSync.syncNow(ended.id).catch(() => {});
      } else if (outcome === "confirmed") {
        const row = await services.calls.findByBitrixCallId(portal.id, data.CALL_ID, data.USER_ID);
        if (row) services.bitrix.callSync.syncNow(row.id).catch(() => {});
      }
      return;
    }
  }
}
