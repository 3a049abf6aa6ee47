/**
 * Bitrix24 events posted to the app (form-encoded, bracket keys). Every event is authenticated
 * before its data is read: `auth[member_id]` and `auth[application_token]` must match the
 * stored token (compared in constant time with its hash), or the answer is a 401 without
 * details. The application token is never replaced by an event: ONAPPINSTALL stores it only for
 * a portal without one, and only when its access token is an administrator's who opened the
 * installer moments before. An employee can read the application token from a page POST, so
 * ONAPPUNINSTALL is confirmed with the portal as well (see uninstall.ts).
 *
 * @module
 */
import { z } from "zod";
import { type Portal, type PortalRepo, sha256Hex } from "../db/portals.ts";
import type { CallRepo } from "../db/calls.ts";
import type { PortalChanges } from "../portal_changes.ts";
import { UnauthorizedError } from "../errors.ts";
import { parseWith } from "../http.ts";
import { log } from "../log.ts";
import { LruMap } from "../lru.ts";
import { type AppIdentityDeps, isOurApp, whoIs } from "./frame_auth.ts";
import { pickLang, t } from "../../shared/i18n.ts";
import { bindApp, type BindDeps } from "./install.ts";
import type { PortalClients } from "./portal_clients.ts";
import type { CallSync } from "./call_sync.ts";
import type { Uninstaller, UninstallOutcome } from "./uninstall.ts";
import type { CallOutBudget } from "../rate_limit.ts";
import type { PushHub } from "../push/hub.ts";
import { type DialPush, PUSH_DIAL } from "../../shared/api/push.ts";

/**
 * How long a mobile click-to-call's dial request stays good for a phone that reconnects: the
 * user is waiting with the mobile app in hand.
 */
const MOBILE_DIAL_TTL_MS = 60_000;

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
const bitrixEventSchema = z.preprocess(
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
      event: z.literal("ONAPPUPDATE"),
      data: z.object({
        VERSION: z.string().max(20).optional(),
        PREVIOUS_VERSION: z.string().max(20).optional(),
        LANGUAGE_ID: z.string().max(5).optional(),
      }).default({}),
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

/** What is checked before anything else: the event's name and its `auth` block. */
const eventEnvelopeSchema = z.object({
  event: z.string().min(1).max(64).transform((e) => e.toUpperCase()),
  auth: eventAuthSchema,
});

/** The envelope of an event body, or 401 without details when it has no usable `auth`. */
function envelopeOf(body: unknown): z.output<typeof eventEnvelopeSchema> {
  const envelope = eventEnvelopeSchema.safeParse(body);
  if (!envelope.success) {
    log.warn("bitrix24 event rejected: no auth");
    throw new UnauthorizedError("the event is not authenticated");
  }
  return envelope.data;
}

/** How long after an administrator opened the installer an ONAPPINSTALL of theirs is taken. */
const INSTALL_WINDOW_MS = 10 * 60_000;

/** How long a verified application token is trusted without reading the portal again. */
const VERIFIED_TTL_MS = 5_000;

/**
 * Checks events' application tokens against the stored hash and remembers a match for a few
 * seconds, so a burst of events from one portal reads its row once. Refusals are not
 * remembered. An install or uninstall handled here forgets the portal at once; one handled by
 * another instance is seen here within {@link VERIFIED_TTL_MS}.
 */
export class EventAuthenticator {
  private readonly verified: LruMap<string, { portal: Portal; at: number }>;

  constructor(
    private readonly deps: {
      portals: Pick<PortalRepo, "verifyApplicationToken">;
      /** A changed portal's verified tokens are forgotten at once. */
      changes: Pick<PortalChanges, "onChange">;
    },
    /** Verified tokens kept (least recently used forgotten first). */
    maxEntries = 10_000,
  ) {
    this.verified = new LruMap(maxEntries);
    deps.changes.onChange(({ portalId }) => this.forgetPortal(portalId));
  }

  /** The portal whose application token this is, or undefined. */
  async verify(memberId: string, token: string): Promise<Portal | undefined> {
    const key = sha256Hex(`${memberId}\n${token}`);
    const hit = this.verified.get(key);
    if (hit && Date.now() - hit.at < VERIFIED_TTL_MS) return hit.portal;
    const portal = await this.deps.portals.verifyApplicationToken(memberId, token);
    if (!portal) {
      this.verified.delete(key);
      return undefined;
    }
    this.verified.set(key, { portal, at: Date.now() });
    return portal;
  }

  /** Forgets every verified token of a portal (its token or its state changed). */
  private forgetPortal(portalId: string): void {
    for (const [key, { portal }] of this.verified) {
      if (portal.id === portalId) this.verified.delete(key);
    }
  }
}

/** What handling Bitrix24 events needs. */
export interface EventDeps extends AppIdentityDeps, BindDeps {
  config: AppIdentityDeps["config"] & BindDeps["config"];
  portals: PortalRepo;
  calls: Pick<CallRepo, "recordClickToCall" | "endUndialledClickToCall" | "findByBitrixCallId">;
  /** Mobile click-to-calls go to the user's browser phone when it is online. */
  push: Pick<PushHub, "isOnline" | "publish">;
  changes: Pick<PortalChanges, "changed">;
  bitrix: BindDeps["bitrix"] & {
    clients: Pick<PortalClients, "noteServerEndpoint">;
    eventAuth: Pick<EventAuthenticator, "verify">;
    uninstaller: Pick<Uninstaller, "handle">;
    callSync: Pick<CallSync, "syncNow">;
    /** Spent by the ONAPPINSTALL check of an event whose token is not stored yet. */
    installChecks: Pick<CallOutBudget, "spend">;
  };
}

/** The portal the event's `application_token` belongs to; throws 401 otherwise. */
async function authenticate(
  deps: EventDeps,
  envelope: z.output<typeof eventEnvelopeSchema>,
): Promise<Portal> {
  const portal = await deps.bitrix.eventAuth.verify(
    envelope.auth.member_id,
    envelope.auth.application_token,
  );
  if (!portal) {
    log.warn("bitrix24 event rejected", {
      eventName: envelope.event,
      memberId: envelope.auth.member_id,
    });
    throw new UnauthorizedError("unknown portal or application token");
  }
  return portal;
}

/**
 * ONAPPINSTALL (`body` unparsed): a portal whose token is stored gets 200 for the same token
 * and 401 for any other; a portal without one stores it only when the event's access token is
 * an administrator's of our app whose installer was opened within {@link INSTALL_WINDOW_MS}.
 * The event's tokens are never stored (the installer stored the administrator's pair).
 */
export async function handleAppInstall(
  deps: EventDeps,
  body: unknown,
  clientAddress: string,
): Promise<Portal> {
  const { auth, event } = envelopeOf(body);
  if (event !== "ONAPPINSTALL") throw new UnauthorizedError("the event is not authenticated");
  // Refusals are logged, not written: a flood of forged events must not grow the database.
  const refused = (reason: string, details: Record<string, unknown> = {}) => {
    log.warn("bitrix24 install event refused", { memberId: auth.member_id, reason, ...details });
    return new UnauthorizedError("unknown portal or application token");
  };
  const portal = await deps.portals.findByMemberId(auth.member_id);
  if (!portal?.installed) throw refused("unknown portal");
  const known = await deps.portals.verifyApplicationToken(
    auth.member_id,
    auth.application_token,
  );
  if (known) {
    parseWith(bitrixEventSchema, body);
    await deps.bitrix.clients.noteServerEndpoint(known, auth.server_endpoint);
    return known;
  }
  if (await deps.portals.hasApplicationToken(portal.id)) {
    throw refused("a different application token is stored");
  }
  if (!auth.access_token) throw refused("no access token");
  deps.bitrix.installChecks.spend(clientAddress, portal.id);
  const who = await whoIs(portal, auth.access_token).catch(() => undefined);
  if (!who || !(await isOurApp(who.app.CODE, portal, deps))) {
    throw refused("the portal did not accept the event's token");
  }
  const since = new Date(Date.now() - INSTALL_WINDOW_MS);
  if (!who.isAdmin || !(await deps.portals.installStartedBy(portal.id, who.userId, since))) {
    throw refused("no install by this administrator in progress", { userId: who.userId });
  }
  parseWith(bitrixEventSchema, body);
  await deps.portals.setApplicationToken(portal.id, auth.application_token);
  deps.changes.changed(portal);
  await deps.bitrix.clients.noteServerEndpoint(portal, auth.server_endpoint);
  await deps.portals.recordEvent(portal, "app_install_event", { userId: who.userId });
  return portal;
}

/**
 * Every event but ONAPPINSTALL (`body` unparsed): 401 unless its application token is the
 * stored one, then 400 for malformed data. ONAPPUNINSTALL is confirmed with the portal first;
 * the answer says whether it is done or pending.
 */
export async function handleEvent(
  deps: EventDeps,
  body: unknown,
): Promise<{ uninstall?: UninstallOutcome }> {
  const portal = await authenticate(deps, envelopeOf(body));
  const event = parseWith(bitrixEventSchema, body);
  switch (event.event) {
    case "ONAPPINSTALL":
      return {};
    case "ONAPPUNINSTALL": {
      const clean = event.data.CLEAN === "1";
      return { uninstall: await deps.bitrix.uninstaller.handle(portal, clean) };
    }
    case "ONAPPUPDATE": {
      // The portal removed every binding on update (handlers must be set again per version).
      await bindApp(deps, portal);
      await deps.portals.recordEvent(portal, "app_update", {
        version: event.data.VERSION ?? null,
      });
      log.info("bitrix24 app updated: bindings restored", { memberId: portal.memberId });
      return {};
    }
    case "ONEXTERNALCALLSTART": {
      const { data } = event;
      const outcome = await deps.calls.recordClickToCall({
        portalId: portal.id,
        bitrixUserId: data.USER_ID,
        bitrixCallId: data.CALL_ID,
        phoneNumber: data.PHONE_NUMBER_INTERNATIONAL || data.PHONE_NUMBER,
        startedAt: new Date(),
      });
      if (outcome === "recorded" && data.IS_MOBILE === "1") {
        // The mobile app raises no call card: the user's browser phone, when one is online,
        // dials it through the push channel (linked by CALL_ID like any click-to-call) …
        const number = data.PHONE_NUMBER_INTERNATIONAL || data.PHONE_NUMBER;
        if (await deps.push.isOnline(portal.id, data.USER_ID)) {
          await deps.push.publish(
            portal.id,
            data.USER_ID,
            PUSH_DIAL,
            {
              callId: data.CALL_ID,
              number,
            } satisfies DialPush,
            { ttlMs: MOBILE_DIAL_TTL_MS },
          );
          return {};
        }
        // … else nobody can: say so in Bitrix24's history now, not as a cancelled call later.
        const ended = await deps.calls.endUndialledClickToCall(portal.id, data.CALL_ID, {
          sipStatus: 480,
          failedReason: t(pickLang(portal.lang), "mobileClickToCall"),
        });
        if (ended) deps.bitrix.callSync.syncNow(ended.id).catch(() => {});
      } else if (outcome === "confirmed") {
        const row = await deps.calls.findByBitrixCallId(portal.id, data.CALL_ID, data.USER_ID);
        if (row) deps.bitrix.callSync.syncNow(row.id).catch(() => {});
      }
      return {};
    }
  }
}
