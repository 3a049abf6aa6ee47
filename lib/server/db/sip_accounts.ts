/**
 * SIP accounts repository: one account per Bitrix24 user and portal, the password sealed at
 * rest and returned in the clear only by `getWithPassword` (for the owner's phone).
 *
 * @module
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client.ts";
import { sipAccounts } from "./schema.ts";
import { aad, type Sealer } from "../secrets/crypto.ts";
import type { OwnSipAccount, SipAccountView } from "../../shared/api/widget.ts";

/** What an admin (or the owner) saves; a missing password keeps the stored one. */
export interface SipAccountInput {
  wsUrl: string;
  sipUri: string;
  authUser: string;
  password?: string;
  displayName?: string | null;
}

const viewColumns = {
  id: sipAccounts.id,
  bitrixUserId: sipAccounts.bitrixUserId,
  wsUrl: sipAccounts.wsUrl,
  sipUri: sipAccounts.sipUri,
  authUser: sipAccounts.authUser,
  displayName: sipAccounts.displayName,
  passwordEnc: sipAccounts.passwordEnc,
  updatedAt: sipAccounts.updatedAt,
};

function toView({ passwordEnc, ...row }: typeof sipAccounts.$inferSelect): SipAccountView {
  return { ...row, hasPassword: passwordEnc.length > 0 };
}

/** Reads and writes SIP accounts. */
export class SipAccountRepo {
  /** The hot read (every phone start): built once, run with placeholders. */
  private readonly byUser;

  constructor(private readonly db: Db, private readonly box: Sealer) {
    this.byUser = db.select().from(sipAccounts).where(and(
      eq(sipAccounts.portalId, sql.placeholder("portalId")),
      eq(sipAccounts.bitrixUserId, sql.placeholder("userId")),
    )).prepare("sip_account_by_user");
  }

  /** The account of `userId`, without its password. */
  async get(portalId: string, userId: number): Promise<SipAccountView | undefined> {
    const [row] = await this.byUser.execute({ portalId, userId });
    return row ? toView(row) : undefined;
  }

  /** The accounts of several users (missing users are simply absent). */
  async listForUsers(portalId: string, userIds: number[]): Promise<SipAccountView[]> {
    if (userIds.length === 0) return [];
    const rows = await this.db.select(viewColumns).from(sipAccounts).where(
      and(eq(sipAccounts.portalId, portalId), inArray(sipAccounts.bitrixUserId, userIds)),
    );
    return rows.map((r) => toView(r as typeof sipAccounts.$inferSelect));
  }

  /** The account with its password in the clear: only for the owner's phone engine. */
  async getWithPassword(
    portalId: string,
    userId: number,
  ): Promise<OwnSipAccount | undefined> {
    const [row] = await this.byUser.execute({ portalId, userId });
    if (!row) return undefined;
    const password = row.passwordEnc
      ? await this.box.open(row.passwordEnc, aad("sip_accounts", row.id, "password"))
      : "";
    return { ...toView(row), password };
  }

  /**
   * Creates or updates the account of `userId`. A new account without a password is stored
   * with none (`hasPassword: false`).
   */
  async upsert(portalId: string, userId: number, input: SipAccountInput): Promise<SipAccountView> {
    const [existing] = await this.db.select({ id: sipAccounts.id }).from(sipAccounts).where(
      and(eq(sipAccounts.portalId, portalId), eq(sipAccounts.bitrixUserId, userId)),
    );
    const id = existing?.id ?? crypto.randomUUID();
    const passwordEnc = input.password === undefined
      ? undefined
      : input.password === ""
      ? ""
      : await this.box.seal(input.password, aad("sip_accounts", id, "password"));
    const fields = {
      wsUrl: input.wsUrl,
      sipUri: input.sipUri,
      authUser: input.authUser,
      displayName: input.displayName ?? null,
      updatedAt: new Date(),
      ...(passwordEnc === undefined ? {} : { passwordEnc }),
    };
    await this.db.insert(sipAccounts).values({
      id,
      portalId,
      bitrixUserId: userId,
      passwordEnc: passwordEnc ?? "",
      ...fields,
    }).onConflictDoUpdate({
      target: [sipAccounts.portalId, sipAccounts.bitrixUserId],
      set: fields,
    });
    return (await this.get(portalId, userId))!;
  }

  /** Removes the account of `userId`; true when one existed. */
  async remove(portalId: string, userId: number): Promise<boolean> {
    const rows = await this.db.delete(sipAccounts).where(
      and(eq(sipAccounts.portalId, portalId), eq(sipAccounts.bitrixUserId, userId)),
    ).returning({ id: sipAccounts.id });
    return rows.length > 0;
  }
}
