/**
 * The database schema (drizzle, PostgreSQL 15 compatible; PGlite runs the same migrations).
 * Columns ending in `_enc` hold values sealed by `SecretBox` (see lib/secrets/crypto.ts), bound
 * to their row id and column name.
 *
 * @module
 */
import { sql } from "drizzle-orm";
import type { PortalSettings } from "../../shared/api/widget.ts";
import {
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

const createdAt = () => timestamp("created_at", { withTimezone: true }).notNull().defaultNow();
const updatedAt = () => timestamp("updated_at", { withTimezone: true }).notNull().defaultNow();

/** Installed Bitrix24 portals, keyed by `member_id` (never by domain). */
export const portals = pgTable("portals", {
  id: uuid("id").primaryKey(),
  memberId: text("member_id").notNull().unique(),
  domain: text("domain").notNull(),
  clientEndpoint: text("client_endpoint").notNull(),
  serverEndpoint: text("server_endpoint"),
  accessTokenEnc: text("access_token_enc"),
  refreshTokenEnc: text("refresh_token_enc"),
  tokenExpiresAt: timestamp("token_expires_at", { withTimezone: true }),
  applicationTokenHash: text("application_token_hash"),
  /** SHA-256 of the secret in the placement error handler URL (Bitrix24 posts errors unsigned). */
  errorTokenHash: text("error_token_hash"),
  scope: text("scope"),
  /** `marketplace` (credentials from the secrets provider) or `local` (saved per portal). */
  appKind: text("app_kind", { enum: ["marketplace", "local"] }).notNull().default("marketplace"),
  clientId: text("client_id"),
  /** `app.info` CODE verified at the first install: only that app's tokens are ours. */
  appCode: text("app_code"),
  clientSecretEnc: text("client_secret_enc"),
  installedByUserId: integer("installed_by_user_id"),
  installed: boolean("installed").notNull().default(false),
  externalLine: text("external_line"),
  settings: jsonb("settings").$type<PortalSettings>().notNull().default(sql`'{}'::jsonb`),
  lang: text("lang"),
  /**
   * Why Bitrix24 refuses the app on this portal for now (the subscription lapsed, the OAuth
   * server does not know the app): calls wait instead of failing. Null when it answers.
   */
  blockedReason: text("blocked_reason", { enum: ["payment_required", "invalid_client"] }),
  blockedAt: timestamp("blocked_at", { withTimezone: true }),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
  uninstalledAt: timestamp("uninstalled_at", { withTimezone: true }),
});

/** Audit trail of installs, uninstalls and placement errors reported by Bitrix24. */
export const installEvents = pgTable("install_events", {
  id: uuid("id").primaryKey(),
  portalId: uuid("portal_id").references(() => portals.id, { onDelete: "cascade" }),
  memberId: text("member_id").notNull(),
  kind: text("kind", {
    enum: [
      "install",
      "reinstall",
      "uninstall",
      "app_install_event",
      "placement_error",
      /** An ONAPPUNINSTALL the portal could not confirm yet (asked again later). */
      "uninstall_pending",
      /** The application token, from an administrator's page load. */
      "app_token_from_page",
      /** The server-side token pair was refused for good (`invalid_grant`). */
      "tokens_dead",
      /** A dead server-side token pair replaced by an administrator's page load. */
      "tokens_renewed",
      /** ONAPPUPDATE: bindings restored. */
      "app_update",
    ],
  }).notNull(),
  details: jsonb("details").$type<Record<string, unknown>>().notNull().default(sql`'{}'::jsonb`),
  createdAt: createdAt(),
}, (t) => [index("install_events_portal_idx").on(t.portalId, t.createdAt)]);

/** SIP accounts assigned to employees (one per Bitrix24 user and portal). */
export const sipAccounts = pgTable("sip_accounts", {
  id: uuid("id").primaryKey(),
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  bitrixUserId: integer("bitrix_user_id").notNull(),
  wsUrl: text("ws_url").notNull(),
  sipUri: text("sip_uri").notNull(),
  authUser: text("auth_user").notNull(),
  passwordEnc: text("password_enc").notNull(),
  displayName: text("display_name"),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [uniqueIndex("sip_accounts_portal_user_uq").on(t.portalId, t.bitrixUserId)]);

/** The call journal and its Bitrix24 sync state. */
export const calls = pgTable("calls", {
  id: uuid("id").primaryKey(),
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  bitrixUserId: integer("bitrix_user_id").notNull(),
  /** The SIP Call-ID (`EXTERNAL_CALL_ID` in Bitrix24). */
  sipCallId: text("sip_call_id").notNull(),
  direction: text("direction", { enum: ["inbound", "outbound"] }).notNull(),
  phoneNumber: text("phone_number").notNull(),
  /** Bitrix24's `CALL_ID` (from register, or given by click-to-call). */
  bitrixCallId: text("bitrix_call_id"),
  origin: text("origin", { enum: ["phone", "click_to_call"] }).notNull().default("phone"),
  startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
  answeredAt: timestamp("answered_at", { withTimezone: true }),
  endedAt: timestamp("ended_at", { withTimezone: true }),
  durationSec: integer("duration_sec"),
  sipStatus: integer("sip_status"),
  /** Why the call failed, in words, for Bitrix24's `FAILED_REASON` and the history. */
  failedReason: text("failed_reason"),
  /** Where the Bitrix24 side is: `pending` work remains, `synced` done, `failed` gave up. */
  syncState: text("sync_state", { enum: ["pending", "synced", "failed"] }).notNull().default(
    "pending",
  ),
  registeredInBitrix: boolean("registered_in_bitrix").notNull().default(false),
  finishedInBitrix: boolean("finished_in_bitrix").notNull().default(false),
  syncAttempts: integer("sync_attempts").notNull().default(0),
  nextSyncAt: timestamp("next_sync_at", { withTimezone: true }).notNull().defaultNow(),
  lastSyncError: text("last_sync_error"),
  /**
   * The sync attempt that owns the row (one at a time, across instances), until `claimedUntil`;
   * the owner renews it while it works, so a crashed owner's claim lapses within seconds.
   */
  claimId: uuid("claim_id"),
  claimedUntil: timestamp("claimed_until", { withTimezone: true }),
  /** The current claim took over one that had lapsed (its owner died or stalled). */
  claimTakenOver: boolean("claim_taken_over").notNull().default(false),
  createdAt: createdAt(),
  updatedAt: updatedAt(),
}, (t) => [
  // One row per user's leg: two employees' legs of one call (an internal call through a proxy
  // PBX shares one SIP Call-ID) are two rows, and nobody's report can occupy another's.
  uniqueIndex("calls_portal_user_sip_call_uq").on(t.portalId, t.bitrixUserId, t.sipCallId),
  // A click-to-call placeholder (`bitrix24:<CALL_ID>`) is one per portal, as its CALL_ID is.
  uniqueIndex("calls_portal_click_to_call_uq").on(t.portalId, t.sipCallId)
    .where(sql`${t.sipCallId} like 'bitrix24:%'`),
  index("calls_sync_idx").on(t.syncState, t.nextSyncAt),
  index("calls_user_idx").on(t.portalId, t.bitrixUserId, t.startedAt),
  // A portal's history, newest first, and the retention pass's oldest rows of a portal.
  index("calls_portal_started_idx").on(t.portalId, t.startedAt),
  // Click-to-call placeholders (`bitrix24:<CALL_ID>`) are few among all calls: the undialled
  // sweep before every sync pass reads only the open ones, a dial looks up only the user's.
  index("calls_undialled_click_to_call_idx").on(t.createdAt)
    .where(sql`${t.sipCallId} like 'bitrix24:%' and ${t.endedAt} is null`),
  index("calls_click_to_call_user_idx").on(t.portalId, t.bitrixUserId, t.createdAt)
    .where(sql`${t.sipCallId} like 'bitrix24:%'`),
  // The rows a sync attempt holds now (few): a portal being served is left to its server.
  index("calls_claimed_idx").on(t.portalId).where(sql`${t.claimId} is not null`),
  // Calls no end was ever reported for (the phone vanished mid-call), closed after a while.
  index("calls_open_idx").on(t.startedAt).where(sql`${t.endedAt} is null`),
  // A Bitrix24 CALL_ID's rows (click-to-call events, a start naming one, the card's look-up).
  index("calls_bitrix_call_idx").on(t.portalId, t.bitrixCallId),
]);

/**
 * Single-use tickets that open a push stream (`EventSource` cannot send the frame's headers):
 * issued to a verified frame user, redeemed once by whichever instance the stream reaches,
 * ~60 s. Only a SHA-256 of the ticket is kept.
 */
export const pushTickets = pgTable("push_tickets", {
  tokenHash: text("token_hash").primaryKey(),
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  userId: integer("user_id").notNull(),
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
}, (t) => [index("push_tickets_expires_idx").on(t.expiresAt)]);

/**
 * A user's push message counter: a publish bumps it under the row's lock, so one user's
 * messages commit (and are notified) in the order of their ids.
 */
export const pushUsers = pgTable("push_users", {
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  userId: integer("user_id").notNull(),
  lastSeq: integer("last_seq").notNull().default(0),
}, (t) => [primaryKey({ columns: [t.portalId, t.userId] })]);

/** Recent push messages per user, replayed to a stream that resumes (`Last-Event-ID`). */
export const pushMessages = pgTable("push_messages", {
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  userId: integer("user_id").notNull(),
  /** The message id: the user's counter at publish. */
  seq: integer("seq").notNull(),
  type: text("type").notNull(),
  data: jsonb("data").$type<Record<string, unknown>>().notNull(),
  createdAt: createdAt(),
  /** Not replayed after this (a dial request is stale after a few minutes); deleted then. */
  expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
}, (t) => [
  primaryKey({ columns: [t.portalId, t.userId, t.seq] }),
  index("push_messages_expires_idx").on(t.expiresAt),
]);

/**
 * Which users have a phone online: one row per app instance and user with open streams,
 * refreshed by the instance while they stay open; rows of a vanished instance go stale.
 */
export const pushPresence = pgTable("push_presence", {
  instanceId: text("instance_id").notNull(),
  portalId: uuid("portal_id").notNull().references(() => portals.id, { onDelete: "cascade" }),
  userId: integer("user_id").notNull(),
  streams: integer("streams").notNull(),
  seenAt: timestamp("seen_at", { withTimezone: true }).notNull().defaultNow(),
}, (t) => [
  primaryKey({ columns: [t.instanceId, t.portalId, t.userId] }),
  index("push_presence_user_idx").on(t.portalId, t.userId, t.seenAt),
  index("push_presence_seen_idx").on(t.seenAt),
]);
