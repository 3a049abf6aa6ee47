/**
 * Portals repository: installed Bitrix24 portals with their OAuth tokens and app credentials
 * sealed at rest, the application token kept only as a hash, and the install audit trail.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { and, desc, eq, gt, inArray, isNotNull, isNull, notInArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { installEvents, portals } from "./schema.ts";
import { type PortalSettings, portalSettingsSchema } from "../../shared/api/widget.ts";
import { aad, type Sealer } from "../secrets/crypto.ts";

/** A portal row without its secrets. */
export type Portal = Omit<
  typeof portals.$inferSelect,
  | "accessTokenEnc"
  | "refreshTokenEnc"
  | "clientSecretEnc"
  | "applicationTokenHash"
  | "errorTokenHash"
>;

/** Why Bitrix24 refuses the app on a portal for now. */
export type BlockedReason = NonNullable<typeof portals.$inferSelect.blockedReason>;

/** OAuth tokens of a portal, in the clear (only in memory). */
export interface PortalTokens {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
}

/** What an install (or re-install) writes. */
export interface InstallInput {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint?: string | null;
  tokens: PortalTokens;
  scope?: string | null;
  installedByUserId?: number | null;
  appKind?: "marketplace" | "local";
  /** `app.info` CODE of the installing administrator's token (kept when absent). */
  appCode?: string;
  lang?: string | null;
}

/** Kinds of audit events. */
export type InstallEventKind = typeof installEvents.$inferInsert.kind;

/** Placement errors kept per portal (the newest); older ones are dropped as new ones arrive. */
export const PLACEMENT_ERRORS_KEPT = 100;

const publicColumns = {
  id: portals.id,
  memberId: portals.memberId,
  domain: portals.domain,
  clientEndpoint: portals.clientEndpoint,
  serverEndpoint: portals.serverEndpoint,
  tokenExpiresAt: portals.tokenExpiresAt,
  scope: portals.scope,
  appKind: portals.appKind,
  clientId: portals.clientId,
  appCode: portals.appCode,
  installedByUserId: portals.installedByUserId,
  installed: portals.installed,
  externalLine: portals.externalLine,
  settings: portals.settings,
  lang: portals.lang,
  blockedReason: portals.blockedReason,
  blockedAt: portals.blockedAt,
  createdAt: portals.createdAt,
  updatedAt: portals.updatedAt,
  uninstalledAt: portals.uninstalledAt,
};

/** SHA-256 of `value` as hex. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Compares two strings in time that depends only on their length. */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}

/** Reads and writes portals. */
export class PortalRepo {
  /** The hot reads (every event, every sync), built once and run with placeholders. */
  private readonly byMemberId;
  private readonly byId;
  private readonly withHashesByMemberId;

  constructor(private readonly db: Db, private readonly box: Sealer) {
    this.byMemberId = db.select(publicColumns).from(portals)
      .where(eq(portals.memberId, sql.placeholder("memberId"))).prepare("portal_by_member");
    this.byId = db.select(publicColumns).from(portals)
      .where(eq(portals.id, sql.placeholder("id"))).prepare("portal_by_id");
    this.withHashesByMemberId = db.select({
      ...publicColumns,
      applicationTokenHash: portals.applicationTokenHash,
      errorTokenHash: portals.errorTokenHash,
    }).from(portals).where(eq(portals.memberId, sql.placeholder("memberId")))
      .prepare("portal_hashes_by_member");
  }

  /** The portal with this `member_id`, or undefined. */
  async findByMemberId(memberId: string): Promise<Portal | undefined> {
    const [row] = await this.byMemberId.execute({ memberId });
    return row ? withSettings(row) : undefined;
  }

  /** The portal with this id, or undefined. */
  async findById(id: string): Promise<Portal | undefined> {
    const [row] = await this.byId.execute({ id });
    return row ? withSettings(row) : undefined;
  }

  /** Creates or updates the portal of `input.memberId`; `created` tells which. */
  async upsertInstall(input: InstallInput): Promise<{ portal: Portal; created: boolean }> {
    const existing = await this.findByMemberId(input.memberId);
    const id = existing?.id ?? crypto.randomUUID();
    const sealed = await this.sealTokens(id, input.tokens);
    const values = {
      domain: input.domain,
      clientEndpoint: input.clientEndpoint,
      serverEndpoint: input.serverEndpoint ?? null,
      ...sealed,
      scope: input.scope ?? null,
      installedByUserId: input.installedByUserId ?? null,
      lang: input.lang ?? null,
      ...(input.appCode ? { appCode: input.appCode } : {}),
      installed: true,
      uninstalledAt: null,
      updatedAt: new Date(),
    };
    await this.db.insert(portals).values({
      id,
      memberId: input.memberId,
      appKind: input.appKind ?? "marketplace",
      settings: portalSettingsSchema.parse({}),
      ...values,
    }).onConflictDoUpdate({ target: portals.memberId, set: values });
    const portal = await this.findByMemberId(input.memberId);
    return { portal: portal!, created: !existing };
  }

  /** The portal's OAuth tokens in the clear, or undefined when it has none (uninstalled). */
  async getTokens(portalId: string): Promise<PortalTokens | undefined> {
    const [row] = await this.db.select({
      access: portals.accessTokenEnc,
      refresh: portals.refreshTokenEnc,
      expiresAt: portals.tokenExpiresAt,
    }).from(portals).where(eq(portals.id, portalId));
    if (!row?.access || !row.refresh || !row.expiresAt) return undefined;
    return {
      accessToken: await this.box.open(row.access, aad("portals", portalId, "access_token")),
      refreshToken: await this.box.open(row.refresh, aad("portals", portalId, "refresh_token")),
      expiresAt: row.expiresAt,
    };
  }

  /** Stores rotated tokens (call it before anything uses the new refresh token). */
  async saveTokens(portalId: string, tokens: PortalTokens): Promise<void> {
    await this.db.update(portals).set({
      ...(await this.sealTokens(portalId, tokens)),
      updatedAt: new Date(),
    }).where(eq(portals.id, portalId));
  }

  /**
   * Keeps the SHA-256 of the portal's `application_token` when the portal has none yet; a stored
   * token is never replaced (only an uninstall clears it). True when it was stored.
   */
  async setApplicationToken(portalId: string, token: string): Promise<boolean> {
    const rows = await this.db.update(portals).set({
      applicationTokenHash: sha256Hex(token),
      updatedAt: new Date(),
    }).where(and(eq(portals.id, portalId), isNull(portals.applicationTokenHash)))
      .returning({ id: portals.id });
    return rows.length > 0;
  }

  /** Forgets the application token of an installation the portal has deleted. */
  async clearApplicationToken(portalId: string): Promise<void> {
    await this.db.update(portals).set({ applicationTokenHash: null, updatedAt: new Date() })
      .where(eq(portals.id, portalId));
  }

  /** True when the portal has an application token stored. */
  async hasApplicationToken(portalId: string): Promise<boolean> {
    const [row] = await this.db.select({ hash: portals.applicationTokenHash }).from(portals)
      .where(eq(portals.id, portalId));
    return Boolean(row?.hash);
  }

  /**
   * Drops a server-side token pair the OAuth server refused for good (`invalid_grant`): the
   * portal stays installed without tokens until an administrator's page load renews them.
   */
  async dropDeadTokens(portalId: string): Promise<void> {
    await this.db.update(portals).set({
      accessTokenEnc: null,
      refreshTokenEnc: null,
      tokenExpiresAt: null,
      updatedAt: new Date(),
    }).where(eq(portals.id, portalId));
  }

  /**
   * True when `userId` opened the installer of this portal (verified as an administrator) after
   * `since`: an install by that administrator is in progress.
   */
  async installStartedBy(portalId: string, userId: number, since: Date): Promise<boolean> {
    const rows = await this.db.select({ details: installEvents.details }).from(installEvents)
      .where(and(
        eq(installEvents.portalId, portalId),
        inArray(installEvents.kind, ["install", "reinstall"]),
        gt(installEvents.createdAt, since),
      ));
    return rows.some((r) => r.details.userId === userId);
  }

  /**
   * The portal whose stored application token matches `token`, compared in constant time;
   * undefined for an unknown member or a wrong token.
   */
  verifyApplicationToken(memberId: string, token: string): Promise<Portal | undefined> {
    return this.verifyHashed(memberId, "applicationTokenHash", token);
  }

  /**
   * Issues a new secret for the portal's placement error handler URL and keeps its hash;
   * returns the secret (it goes into the URL given to Bitrix24).
   */
  async issueErrorToken(portalId: string): Promise<string> {
    const token = Array.from(
      crypto.getRandomValues(new Uint8Array(24)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    await this.db.update(portals).set({ errorTokenHash: sha256Hex(token) }).where(
      eq(portals.id, portalId),
    );
    return token;
  }

  /** The portal whose error handler secret is `token` (constant-time compare), or undefined. */
  verifyErrorToken(memberId: string, token: string): Promise<Portal | undefined> {
    return this.verifyHashed(memberId, "errorTokenHash", token);
  }

  private async verifyHashed(
    memberId: string,
    column: "applicationTokenHash" | "errorTokenHash",
    token: string,
  ): Promise<Portal | undefined> {
    const [row] = await this.withHashesByMemberId.execute({ memberId });
    const hash = row?.[column] ?? null;
    const matches = timingSafeEqual(sha256Hex(token), hash ?? "0".repeat(64));
    if (!matches || !row || !hash) return undefined;
    const { applicationTokenHash: _a, errorTokenHash: _e, ...portal } = row;
    return withSettings(portal);
  }

  /** Saves a local app's client id and secret (the secret sealed). */
  async saveLocalCredentials(portalId: string, clientId: string, clientSecret: string) {
    await this.db.update(portals).set({
      appKind: "local",
      clientId,
      clientSecretEnc: await this.box.seal(clientSecret, aad("portals", portalId, "client_secret")),
      updatedAt: new Date(),
    }).where(eq(portals.id, portalId));
  }

  /** A local app's saved credentials, or undefined. */
  async getLocalCredentials(
    portalId: string,
  ): Promise<{ clientId: string; clientSecret: string } | undefined> {
    const [row] = await this.db.select({ id: portals.clientId, secret: portals.clientSecretEnc })
      .from(portals).where(eq(portals.id, portalId));
    if (!row?.id || !row.secret) return undefined;
    return {
      clientId: row.id,
      clientSecret: await this.box.open(row.secret, aad("portals", portalId, "client_secret")),
    };
  }

  /** Replaces the portal's settings (already validated). */
  async updateSettings(portalId: string, settings: PortalSettings): Promise<void> {
    await this.db.update(portals).set({ settings, updatedAt: new Date() }).where(
      eq(portals.id, portalId),
    );
  }

  /**
   * Records why Bitrix24 refuses the app on the portal for now (kept from the first refusal),
   * or clears it (`null`) once it answers again.
   */
  async setBlocked(portalId: string, reason: BlockedReason | null): Promise<void> {
    if (reason === null) {
      await this.db.update(portals).set({ blockedReason: null, blockedAt: null })
        .where(and(eq(portals.id, portalId), isNotNull(portals.blockedReason)));
      return;
    }
    await this.db.update(portals).set({ blockedReason: reason, blockedAt: new Date() }).where(
      and(
        eq(portals.id, portalId),
        sql`${portals.blockedReason} is distinct from ${reason}`,
      ),
    );
  }

  /** Stores the portal's OAuth server (`server_endpoint`, already checked). */
  async setServerEndpoint(portalId: string, serverEndpoint: string): Promise<void> {
    await this.db.update(portals).set({ serverEndpoint, updatedAt: new Date() })
      .where(eq(portals.id, portalId));
  }

  /** Stores the portal's current address after it moved (already checked). */
  async setClientEndpoint(portalId: string, clientEndpoint: string, domain: string) {
    await this.db.update(portals).set({ clientEndpoint, domain, updatedAt: new Date() })
      .where(eq(portals.id, portalId));
  }

  /** Records the external line number added at install. */
  async setExternalLine(portalId: string, line: string): Promise<void> {
    await this.db.update(portals).set({ externalLine: line }).where(eq(portals.id, portalId));
  }

  /**
   * Uninstall: drops tokens, application token, the placement error handler's secret and
   * credentials; with `clean` deletes the portal and everything that references it.
   */
  async uninstall(portalId: string, clean: boolean): Promise<void> {
    if (clean) {
      await this.db.delete(portals).where(eq(portals.id, portalId));
      return;
    }
    await this.db.update(portals).set({
      accessTokenEnc: null,
      refreshTokenEnc: null,
      tokenExpiresAt: null,
      applicationTokenHash: null,
      errorTokenHash: null,
      clientSecretEnc: null,
      installed: false,
      uninstalledAt: new Date(),
      updatedAt: new Date(),
    }).where(eq(portals.id, portalId));
  }

  /**
   * Installed portals with an uninstall still pending: an `uninstall_pending` event newer than
   * their last install, with its `clean` flag.
   */
  async pendingUninstalls(): Promise<{ portal: Portal; clean: boolean }[]> {
    const rows = await this.db.select({
      portalId: installEvents.portalId,
      kind: installEvents.kind,
      details: installEvents.details,
    }).from(installEvents).innerJoin(portals, eq(portals.id, installEvents.portalId))
      .where(and(
        eq(portals.installed, true),
        inArray(installEvents.kind, ["uninstall_pending", "install", "reinstall"]),
      )).orderBy(desc(installEvents.createdAt));
    const latest = new Map<string, (typeof rows)[number]>();
    for (const row of rows) {
      if (row.portalId && !latest.has(row.portalId)) latest.set(row.portalId, row);
    }
    const out: { portal: Portal; clean: boolean }[] = [];
    for (const [portalId, row] of latest) {
      if (row.kind !== "uninstall_pending") continue;
      const portal = await this.findById(portalId);
      if (portal) out.push({ portal, clean: row.details.clean === true });
    }
    return out;
  }

  /** Appends an audit event. */
  async recordEvent(
    portal: { id: string | null; memberId: string },
    kind: InstallEventKind,
    details: Record<string, unknown> = {},
  ): Promise<void> {
    await this.db.insert(installEvents).values({
      id: crypto.randomUUID(),
      portalId: portal.id,
      memberId: portal.memberId,
      kind,
      details,
    });
  }

  /**
   * Records a placement error Bitrix24 reported and drops the portal's older ones beyond
   * `keep` (so a flood of reports cannot grow the table).
   */
  async recordPlacementError(
    portal: { id: string; memberId: string },
    details: Record<string, unknown>,
    keep = PLACEMENT_ERRORS_KEPT,
  ): Promise<void> {
    await this.recordEvent(portal, "placement_error", details);
    const ofPortal = and(
      eq(installEvents.portalId, portal.id),
      eq(installEvents.kind, "placement_error"),
    );
    const newest = this.db.select({ id: installEvents.id }).from(installEvents).where(ofPortal)
      .orderBy(desc(installEvents.createdAt), desc(installEvents.id)).limit(keep);
    await this.db.delete(installEvents).where(and(ofPortal, notInArray(installEvents.id, newest)));
  }

  /** The newest audit events of a portal, optionally of one kind. */
  async listEvents(portalId: string, kind?: InstallEventKind, limit = 50) {
    return await this.db.select().from(installEvents).where(
      kind
        ? and(eq(installEvents.portalId, portalId), eq(installEvents.kind, kind))
        : eq(installEvents.portalId, portalId),
    ).orderBy(desc(installEvents.createdAt)).limit(limit);
  }

  private async sealTokens(portalId: string, tokens: PortalTokens) {
    return {
      accessTokenEnc: await this.box.seal(
        tokens.accessToken,
        aad("portals", portalId, "access_token"),
      ),
      refreshTokenEnc: await this.box.seal(
        tokens.refreshToken,
        aad("portals", portalId, "refresh_token"),
      ),
      tokenExpiresAt: tokens.expiresAt,
    };
  }
}

function withSettings<T extends { settings: unknown }>(row: T): T & { settings: PortalSettings } {
  const parsed = portalSettingsSchema.safeParse(row.settings ?? {});
  return { ...row, settings: parsed.success ? parsed.data : portalSettingsSchema.parse({}) };
}
