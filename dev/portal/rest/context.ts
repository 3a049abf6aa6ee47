/**
 * Types shared by the REST dispatcher and the method modules.
 *
 * @module
 */
import type { PortalState } from "../state.ts";
import type { Grant } from "../tokens.ts";
import type { PortalUser } from "../users.ts";
import type { RestError } from "./errors.ts";

/** Who is calling: the token's grant and its user. */
export interface Caller {
  grant: Grant;
  user: PortalUser;
}

/** How a call ended, before it is turned into an HTTP answer or a batch entry. */
export type Outcome =
  | {
    ok: true;
    result: unknown;
    total?: number;
    next?: number;
    startedAt: number;
    finishedAt: number;
  }
  | { ok: false; error: RestError };

/** What a method implementation receives. */
export interface MethodContext {
  state: PortalState;
  caller: Caller;
  /** Parameters without `auth` and `start`. */
  params: Record<string, unknown>;
  /** The `start` paging offset (0 when absent). */
  start: number;
  /** Runs another method with the same token (used by `batch`). */
  run(method: string, params: Record<string, unknown>, batchKey: string): Promise<Outcome>;
}

/** One REST method. */
export interface MethodSpec {
  /** Any of these scopes is required; null = `basic`/global scope. */
  scopes: readonly string[] | null;
  run(ctx: MethodContext): unknown;
}

/** A page of a list method: CORE lifts `total` and `next` out of the result. */
export class Page {
  constructor(readonly items: unknown[], readonly total: number, readonly next?: number) {}
}

/** List pages hold 50 rows (DOCS list-methods-pecularities.md). */
export const PAGE_SIZE = 50;

/** Cuts one page out of `rows` starting at `start`. Empty pages carry no total (CORE user.get). */
export function paged(rows: unknown[], start: number): Page | unknown[] {
  const items = rows.slice(start, start + PAGE_SIZE);
  if (items.length === 0) return [];
  const next = start + PAGE_SIZE < rows.length ? start + PAGE_SIZE : undefined;
  return new Page(items, rows.length, next);
}
