/**
 * `batch` after CORE `CRestProvider::methodsBatch`: up to 50 commands `method?query`, run in
 * order with the batch's token; `$result[key][field]…` (and `$next`, `$total`, `$time`,
 * `$error`) in a later command's parameters are replaced by earlier answers; `halt` stops at
 * the first error. Empty collections are PHP empty arrays, i.e. `[]` in JSON.
 *
 * @module
 */
import { normalizeMethod } from "../../faults.ts";
import { parsePhpQuery } from "../../php_query.ts";
import type { MethodContext, MethodSpec, Outcome } from "../context.ts";
import { batchLengthExceeded, batchMethodNotAllowed } from "../errors.ts";
import { isRecord, str, upperKeys } from "../params.ts";
import { timeBlock } from "../time.ts";

const MAX_COMMANDS = 50;
const SECTIONS = ["result", "next", "total", "time", "error"] as const;
type Section = typeof SECTIONS[number];
type Collected = Record<Section, Record<string, unknown>>;

const REFERENCE = /\$(result|next|total|time|error)((?:\[[^\]]*\])+)/g;

/** Resolves one `$result[a][b]` reference; a missing step stops the walk (as CORE does). */
function resolve(collected: Collected, section: Section, path: string): unknown {
  let value: unknown = collected[section];
  for (const [, key] of path.matchAll(/\[([^\]]*)\]/g)) {
    if (isRecord(value) && key in value) value = value[key];
    else if (Array.isArray(value) && value[Number(key)] !== undefined) value = value[Number(key)];
    else break;
  }
  return value;
}

function substitute(value: unknown, collected: Collected): unknown {
  if (Array.isArray(value)) return value.map((v) => substitute(v, collected));
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [substitute(k, collected), substitute(v, collected)]),
    );
  }
  if (typeof value !== "string") return value;
  const whole = new RegExp(`^${REFERENCE.source}$`).exec(value);
  if (whole) return resolve(collected, whole[1] as Section, whole[2]);
  return value.replace(REFERENCE, (_, s: Section, path: string) => {
    const r = resolve(collected, s, path);
    return typeof r === "object" && r !== null ? "Array" : str(r);
  });
}

/** PHP json_encode of an array: sequential keys give a list, no keys give `[]`. */
function phpArray(obj: Record<string, unknown>): unknown {
  const keys = Object.keys(obj);
  if (keys.length === 0) return [];
  return keys.every((k, i) => k === String(i)) ? Object.values(obj) : obj;
}

function commands(cmd: unknown): [string, unknown][] {
  if (Array.isArray(cmd)) return cmd.map((c, i) => [String(i), c]);
  return isRecord(cmd) ? Object.entries(cmd) : [];
}

async function runCommand(ctx: MethodContext, key: string, call: unknown, collected: Collected) {
  const text = str(call);
  const q = text.indexOf("?");
  const method = normalizeMethod(q < 0 ? text : text.slice(0, q));
  if (method === "batch") return { ok: false, error: batchMethodNotAllowed() } as const;
  const params = parsePhpQuery(new URLSearchParams(q < 0 ? "" : text.slice(q + 1)));
  return await ctx.run(method, substitute(params, collected) as Record<string, unknown>, key);
}

async function batch(ctx: MethodContext): Promise<unknown> {
  const p = upperKeys(ctx.params);
  const halt = Boolean(p.HALT) && p.HALT !== "0";
  const collected: Collected = { result: {}, next: {}, total: {}, time: {}, error: {} };
  let count = 0;
  for (const [key, call] of commands(p.CMD)) {
    const outcome: Outcome = count++ < MAX_COMMANDS
      ? await runCommand(ctx, key, call, collected)
      : { ok: false, error: batchLengthExceeded() };
    if (outcome.ok) {
      collected.result[key] = outcome.result;
      if (outcome.total !== undefined) collected.total[key] = outcome.total;
      if (outcome.next !== undefined) collected.next[key] = outcome.next;
      collected.time[key] = timeBlock(outcome.startedAt, outcome.finishedAt);
    } else {
      collected.error[key] = outcome.error.body();
      if (halt) break;
    }
  }
  return {
    result: phpArray(collected.result),
    result_error: phpArray(collected.error),
    result_total: phpArray(collected.total),
    result_next: phpArray(collected.next),
    result_time: phpArray(collected.time),
  };
}

/** The `batch` method (global scope). */
export const BATCH_METHODS: Record<string, MethodSpec> = {
  batch: { scopes: null, run: batch },
};
