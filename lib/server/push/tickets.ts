/**
 * Tickets that open a push stream. `EventSource` cannot send the frame's `Authorization`
 * header, so a frame-authenticated `POST` gets a ticket, and the stream is opened with it in
 * the query: 32 random bytes, stored only as a SHA-256 hash bound to the portal and user,
 * valid for a minute and good for one stream. Redeeming deletes the row in the same statement
 * that reads it, so two instances (or two requests) never both take one ticket.
 *
 * @module
 */
import { and, eq, gt, lt, sql } from "drizzle-orm";
import { randomBytes } from "node:crypto";
import type { Db } from "../db/client.ts";
import { sha256Hex } from "../db/portals.ts";
import { pushTickets } from "../db/schema.ts";

/** What a ticket opens: whose stream. */
export interface TicketOwner {
  portalId: string;
  userId: number;
}

/** The shape of a ticket (43 base64url characters); anything else is refused unread. */
export const TICKET_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Single-use stream tickets in the database. */
export class PushTickets {
  constructor(private readonly db: Db, private readonly ttlMs: number) {}

  /** Issues a ticket for the user's stream. */
  async issue(portalId: string, userId: number): Promise<string> {
    const ticket = randomBytes(32).toString("base64url");
    await this.db.insert(pushTickets).values({
      tokenHash: sha256Hex(ticket),
      portalId,
      userId,
      expiresAt: sql`now() + make_interval(secs => ${this.ttlMs / 1000})`,
    });
    return ticket;
  }

  /** Takes the ticket (it is gone afterwards); undefined when unknown, used or expired. */
  async redeem(ticket: string): Promise<TicketOwner | undefined> {
    if (!TICKET_PATTERN.test(ticket)) return undefined;
    const [row] = await this.db.delete(pushTickets).where(and(
      eq(pushTickets.tokenHash, sha256Hex(ticket)),
      gt(pushTickets.expiresAt, sql`now()`),
    )).returning({ portalId: pushTickets.portalId, userId: pushTickets.userId });
    return row;
  }

  /** Deletes expired tickets. */
  async prune(): Promise<void> {
    await this.db.delete(pushTickets).where(lt(pushTickets.expiresAt, sql`now()`));
  }
}
