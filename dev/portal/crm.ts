/**
 * A tiny CRM: contacts, companies and leads with phone numbers, enough for
 * `telephony.externalCall.register` (entity lookup, lead auto-creation) and
 * `telephony.externalCall.searchCrmEntities`.
 *
 * @module
 */

/** CRM entity types telephony links calls to. */
export type CrmEntityType = "CONTACT" | "COMPANY" | "LEAD";

/** One CRM record. */
export interface CrmEntity {
  type: CrmEntityType;
  id: number;
  name: string;
  phones: string[];
  assignedById: number;
}

/** Records every emulated portal starts with. */
export const SEED_CRM: readonly CrmEntity[] = [
  { type: "CONTACT", id: 1, name: "Ольга Иванова", phones: ["+7 916 123-45-67"], assignedById: 2 },
  { type: "CONTACT", id: 2, name: "Michael Brown", phones: ["+1 415 555 0100"], assignedById: 3 },
  { type: "COMPANY", id: 1, name: "ООО «Ромашка»", phones: ["+7 495 123-45-67"], assignedById: 2 },
  { type: "LEAD", id: 1, name: "Website request", phones: ["+44 20 7946 0018"], assignedById: 4 },
];

/** Digits of a phone number; a leading 8 of a Russian 11-digit number counts as 7. */
export function phoneDigits(phone: string): string {
  const d = phone.replace(/\D/g, "");
  return d.length === 11 && d.startsWith("8") ? `7${d.slice(1)}` : d;
}

const PRIORITY: CrmEntityType[] = ["CONTACT", "COMPANY", "LEAD"];

/** The portal's CRM records. */
export class Crm {
  readonly #entities: CrmEntity[];

  constructor(seed: readonly CrmEntity[]) {
    this.#entities = seed.map((e) => ({ ...e, phones: [...e.phones] }));
  }

  /** Records whose phones match, contacts first, then companies, then leads. */
  findByPhone(phone: string): CrmEntity[] {
    const wanted = phoneDigits(phone);
    return this.#entities
      .filter((e) => e.phones.some((p) => phoneDigits(p) === wanted))
      .sort((a, b) => PRIORITY.indexOf(a.type) - PRIORITY.indexOf(b.type) || a.id - b.id);
  }

  /** A record by type and id. */
  get(type: string, id: number): CrmEntity | undefined {
    return this.#entities.find((e) => e.type === type && e.id === id);
  }

  /** Adds a record (tests: a caller the CRM knows). */
  add(entity: CrmEntity): CrmEntity {
    const record = { ...entity, phones: [...entity.phones] };
    this.#entities.push(record);
    return record;
  }

  /** Creates a lead for an unknown number, as CRM_CREATE=1 does. */
  createLead(phone: string, assignedById: number): CrmEntity {
    const id = Math.max(0, ...this.#entities.filter((e) => e.type === "LEAD").map((e) => e.id)) + 1;
    const lead: CrmEntity = {
      type: "LEAD",
      id,
      name: `Call from ${phone}`,
      phones: [phone],
      assignedById,
    };
    this.#entities.push(lead);
    return lead;
  }
}
