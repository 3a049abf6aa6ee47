/**
 * Who is calling: the portal's CRM asked by number (`telephony.externalCall.searchCrmEntities`,
 * with the portal's server-side token), the answer kept briefly per portal and number so a
 * call that rings in several tabs, or a caller who calls again, costs one REST call. Lookups
 * never fail a caller's screen: a portal that cannot be asked answers "unknown" (not kept).
 *
 * The first record is the one Bitrix24 recommends (its own priorities); a company that has the
 * number too gives the company name.
 *
 * @module
 */
import type { Portal } from "../db/portals.ts";
import { log } from "../log.ts";
import { LruMap } from "../lru.ts";
import type { CallerInfo } from "../../shared/api/widget.ts";
import type { PortalClients } from "./portal_clients.ts";

/** One record of `telephony.externalCall.searchCrmEntities` (DOCS: the method's page). */
interface CrmEntityResult {
  CRM_ENTITY_TYPE?: string;
  CRM_ENTITY_ID?: number | string;
  ASSIGNED_BY_ID?: number | string;
  NAME?: string;
  ASSIGNED_BY?: { ID?: string | number; USER_PHONE_INNER?: string | null } | null;
}

/** Options of a {@link CallerLookup}. */
export interface CallerLookupOptions {
  /** How long an answer is kept. @defaultValue 60 s */
  ttlMs?: number;
  /** Answers kept in all. @defaultValue 5,000 */
  maxEntries?: number;
  now?: () => number;
}

const TYPES = new Set(["CONTACT", "COMPANY", "LEAD"]);

/** CRM look-ups of callers, cached per portal and number. */
export class CallerLookup {
  readonly #cache: LruMap<string, { at: number; answer: Promise<CallerInfo | null> }>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(
    private readonly deps: { clients: Pick<PortalClients, "forPortal"> },
    options: CallerLookupOptions = {},
  ) {
    this.#ttlMs = options.ttlMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#cache = new LruMap(options.maxEntries ?? 5000);
  }

  /** The caller `number` is, as the portal's CRM knows it; null when unknown. */
  lookup(portal: Portal, number: string): Promise<CallerInfo | null> {
    const key = `${portal.id}:${number.replace(/[^0-9A-Za-z+*#]/g, "")}`;
    const cached = this.#cache.get(key);
    if (cached && this.#now() - cached.at < this.#ttlMs) return cached.answer;
    // Concurrent look-ups of one number share one REST call.
    const answer = this.#ask(portal, number).catch((error) => {
      log.warn("CRM caller look-up failed", { memberId: portal.memberId, error });
      this.#cache.delete(key);
      return null;
    });
    this.#cache.set(key, { at: this.#now(), answer });
    return answer;
  }

  async #ask(portal: Portal, number: string): Promise<CallerInfo | null> {
    const client = await this.deps.clients.forPortal(portal);
    const found = await client.call<CrmEntityResult[]>(
      "telephony.externalCall.searchCrmEntities",
      { PHONE_NUMBER: number },
    );
    return callerOf(Array.isArray(found) ? found : []);
  }
}

/** The caller shown for a search answer: its first record, and a company among the rest. */
export function callerOf(records: CrmEntityResult[]): CallerInfo | null {
  const known = records.filter((r) => TYPES.has(String(r.CRM_ENTITY_TYPE)) && r.NAME);
  const first = known[0];
  if (!first) return null;
  const company = first.CRM_ENTITY_TYPE === "COMPANY"
    ? undefined
    : known.find((r) => r.CRM_ENTITY_TYPE === "COMPANY");
  const responsible = Number(first.ASSIGNED_BY_ID ?? first.ASSIGNED_BY?.ID);
  return {
    name: String(first.NAME),
    entityType: first.CRM_ENTITY_TYPE as CallerInfo["entityType"],
    entityId: Number(first.CRM_ENTITY_ID),
    company: company?.NAME ?? null,
    responsibleId: Number.isInteger(responsible) && responsible > 0 ? responsible : null,
    responsiblePhoneInner: first.ASSIGNED_BY?.USER_PHONE_INNER || null,
  };
}
