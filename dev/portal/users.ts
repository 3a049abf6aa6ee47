/**
 * The portal's employees: a seeded set (an admin and a few employees with Russian and English
 * names), how they look in REST answers, and the `user.get` filter language.
 *
 * @module
 */
import { z } from "zod";

/** What a test passes to add a user; everything but the name has a default. */
export const userInputSchema = z.object({
  id: z.number().int().positive().optional(),
  name: z.string().min(1),
  lastName: z.string().default(""),
  secondName: z.string().default(""),
  email: z.string().default(""),
  admin: z.boolean().default(false),
  active: z.boolean().default(true),
  /** Internal phone extension (`UF_PHONE_INNER`). */
  phoneInner: z.string().default(""),
  workPosition: z.string().default(""),
  workPhone: z.string().default(""),
  personalPhone: z.string().default(""),
  personalMobile: z.string().default(""),
  gender: z.enum(["M", "F", ""]).default(""),
  departments: z.array(z.number().int()).default([1]),
  userType: z.enum(["employee", "extranet", "email"]).default("employee"),
  online: z.boolean().default(false),
  timeZone: z.string().default(""),
  /** Work-day state reported by `telephony.externalCall.searchCrmEntities`. */
  timemanStatus: z.enum(["OPENED", "CLOSED", "PAUSED", "EXPIRED", "UNAVAILABLE"]).default("CLOSED"),
});

/** Input accepted by {@link UserDirectory.add}. */
export type UserInput = z.input<typeof userInputSchema>;

/** A stored portal user. */
export type PortalUser = z.output<typeof userInputSchema> & { id: number; registeredAt: string };

/** The users every emulated portal starts with. ID 1 is the administrator. */
export const SEED_USERS: readonly UserInput[] = [
  {
    id: 1,
    name: "Иван",
    lastName: "Петров",
    secondName: "Сергеевич",
    email: "ivan.petrov@example.ru",
    admin: true,
    phoneInner: "101",
    workPosition: "Директор",
    gender: "M",
    online: true,
    timemanStatus: "OPENED",
  },
  {
    id: 2,
    name: "Анна",
    lastName: "Смирнова",
    email: "anna.smirnova@example.ru",
    phoneInner: "102",
    workPosition: "Менеджер по продажам",
    personalMobile: "+79161112233",
    gender: "F",
    timemanStatus: "OPENED",
  },
  {
    id: 3,
    name: "John",
    lastName: "Smith",
    email: "john.smith@example.com",
    phoneInner: "103",
    workPosition: "Support engineer",
    gender: "M",
  },
  {
    id: 4,
    name: "Emily",
    lastName: "Clark",
    email: "emily.clark@example.com",
    phoneInner: "104",
    workPosition: "Account manager",
    gender: "F",
  },
  {
    id: 5,
    name: "Сергей",
    lastName: "Кузнецов",
    email: "sergey.kuznetsov@example.ru",
    phoneInner: "105",
    active: false,
    gender: "M",
  },
];

/** The portal's user table. */
export class UserDirectory {
  readonly #users = new Map<number, PortalUser>();

  constructor(seed: readonly UserInput[], private readonly registeredAt: string) {
    for (const u of seed) this.add(u);
  }

  /** Adds a user (validated); without `id` the next free one is used. */
  add(input: UserInput): PortalUser {
    const parsed = userInputSchema.parse(input);
    const id = parsed.id ?? Math.max(0, ...this.#users.keys()) + 1;
    if (this.#users.has(id)) throw new Error(`user ${id} already exists`);
    const user: PortalUser = { ...parsed, id, registeredAt: this.registeredAt };
    this.#users.set(id, user);
    return user;
  }

  /** Changes fields of an existing user. */
  update(id: number, patch: Partial<UserInput>): PortalUser {
    const user = this.require(id);
    const next: PortalUser = { ...user, ...userInputSchema.partial().parse(patch), id };
    this.#users.set(id, next);
    return next;
  }

  get(id: number): PortalUser | undefined {
    return this.#users.get(id);
  }

  /** The user or an Error naming the id. */
  require(id: number): PortalUser {
    const user = this.#users.get(id);
    if (!user) throw new Error(`no user ${id}`);
    return user;
  }

  /** All users ordered by id. */
  list(): PortalUser[] {
    return [...this.#users.values()].sort((a, b) => a.id - b.id);
  }

  /** The active user with this internal extension. */
  byPhoneInner(inner: string): PortalUser | undefined {
    return this.list().find((u) => u.active && u.phoneInner === inner);
  }
}

/** A user as `user.get` / `user.current` return it (scope `user`). */
export function toRestUser(u: PortalUser): Record<string, unknown> {
  return {
    ID: String(u.id),
    XML_ID: "",
    ACTIVE: u.active,
    NAME: u.name,
    LAST_NAME: u.lastName,
    SECOND_NAME: u.secondName,
    EMAIL: u.email,
    LAST_LOGIN: u.registeredAt,
    DATE_REGISTER: u.registeredAt,
    TIME_ZONE: u.timeZone,
    IS_ONLINE: u.online ? "Y" : "N",
    PERSONAL_GENDER: u.gender,
    PERSONAL_PHONE: u.personalPhone,
    PERSONAL_MOBILE: u.personalMobile,
    WORK_PHONE: u.workPhone,
    WORK_POSITION: u.workPosition,
    UF_DEPARTMENT: u.departments,
    UF_PHONE_INNER: u.phoneInner,
    USER_TYPE: u.userType,
  };
}

/** Fields `user.get` can filter on; other keys (sort, order, ADMIN_MODE…) are ignored as in CORE. */
const FILTER_FIELDS = new Set([...Object.keys(toRestUser(placeholder())), "NAME_SEARCH"]);

function placeholder(): PortalUser {
  return { ...userInputSchema.parse({ name: "x" }), id: 0, registeredAt: "" };
}

const OPERATOR = /^(>=|<=|!@|!%|!=|=%|%=|>|<|@|%|!|=)?(.+)$/;

function asList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (value !== null && typeof value === "object") return Object.values(value);
  return [value];
}

function norm(value: unknown): string {
  if (typeof value === "boolean") return value ? "y" : "n";
  return String(value).toLowerCase();
}

function matchesOne(field: unknown, op: string, wanted: unknown): boolean {
  const values = Array.isArray(field) ? field : [field];
  const wantList = asList(wanted).map(norm);
  const has = (pred: (v: string, w: string) => boolean) =>
    values.some((v) => wantList.some((w) => pred(norm(v), w)));
  switch (op) {
    case "%":
      return has((v, w) => v.includes(w));
    case "!%":
      return !has((v, w) => v.includes(w));
    case "=%":
    case "%=":
      return has((v, w) => likeToRegExp(w).test(v));
    case ">":
      return has((v, w) => Number(v) > Number(w));
    case "<":
      return has((v, w) => Number(v) < Number(w));
    case ">=":
      return has((v, w) => Number(v) >= Number(w));
    case "<=":
      return has((v, w) => Number(v) <= Number(w));
    case "!":
    case "!=":
    case "!@":
      return !has((v, w) => v === w);
    default:
      return has((v, w) => v === w);
  }
}

function likeToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("%", ".*");
  return new RegExp(`^${escaped}$`);
}

/** `FIND`/`NAME_SEARCH`: every word must occur in the name, e-mail or position. */
function matchesSearch(u: PortalUser, query: unknown): boolean {
  const hay = [u.name, u.lastName, u.secondName, u.email, u.workPosition].join(" ").toLowerCase();
  return String(query).toLowerCase().split(/\s+/).filter(Boolean).every((w) => hay.includes(w));
}

function activeValue(value: unknown): boolean {
  return !(value === false || value === "N" || value === "n" || value === "false" ||
    value === "0" || value === 0 || value === "");
}

/**
 * Applies a `user.get`/`user.search` filter (field → value, keys may carry the documented
 * prefixes `%`, `!`, `>=`, `@`…; array values mean "any of"). Unknown keys are ignored.
 */
export function filterUsers(
  users: PortalUser[],
  query: Record<string, unknown>,
  allowFind: boolean,
): PortalUser[] {
  const filter = Object.fromEntries(
    Object.entries(query).map(([k, v]) => [k.toUpperCase(), v]),
  );
  const conditions: Array<(u: PortalUser) => boolean> = [];
  for (const [key, value] of Object.entries(filter)) {
    const [, op = "", field] = OPERATOR.exec(key) ?? [];
    if (field === "FIND" && allowFind || field === "NAME_SEARCH") {
      conditions.push((u) => matchesSearch(u, value));
    } else if (field === "ACTIVE") {
      const want = activeValue(value);
      conditions.push((u) => op.startsWith("!") ? u.active !== want : u.active === want);
    } else if (field && FILTER_FIELDS.has(field)) {
      conditions.push((u) => matchesOne(toRestUser(u)[field], op, value));
    }
  }
  return users.filter((u) => conditions.every((c) => c(u)));
}

/** Sorts by a REST field when both `sort` and `order` are given (CORE ignores one alone). */
export function sortUsers(users: PortalUser[], sort: unknown, order: unknown): PortalUser[] {
  if (!sort || !order) return users;
  const field = String(sort).toUpperCase();
  const dir = String(order).toUpperCase() === "DESC" ? -1 : 1;
  return [...users].sort((a, b) => {
    const x = toRestUser(a)[field];
    const y = toRestUser(b)[field];
    const cmp = field === "ID" ? Number(x) - Number(y) : String(x).localeCompare(String(y));
    return cmp * dir;
  });
}
