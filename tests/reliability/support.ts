/**
 * Helpers of the reliability tests: a seeded random generator, a snapshot of every table, the
 * checks every answer must pass, and the app in its own process.
 *
 * @module
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../lib/server/db/client.ts";
import { stopProcess } from "../support/process.ts";
import { waitFor } from "../support/wait.ts";

/** Seeded PRNG (mulberry32): the same seed gives the same requests. */
export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** One element of `items`. */
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"): string {
    let s = "";
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  /** Lower-case hex of `length` digits. */
  hex(length: number): string {
    return this.string(length, "0123456789abcdef");
  }

  /** Random bytes. */
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

/** The seed: `RELIABILITY_SEED` from the environment, else `fallback`. */
export function seedFromEnv(fallback: number): number {
  const raw = Deno.env.get("RELIABILITY_SEED");
  return raw && /^\d+$/.test(raw) ? Number(raw) : fallback;
}

function rowsOf(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result)) return result as Record<string, unknown>[];
  return (result as { rows: Record<string, unknown>[] }).rows;
}

/**
 * Every row of every table (all schemas but the catalogs, so drizzle's migrations table too),
 * as sorted JSON per table: equal snapshots mean an unchanged database.
 */
export async function snapshotDatabase(database: Database): Promise<Record<string, string[]>> {
  const tables = rowsOf(
    await database.db.execute(sql`
      select table_schema as s, table_name as t from information_schema.tables
      where table_type = 'BASE TABLE'
        and table_schema not in ('pg_catalog', 'information_schema')
      order by 1, 2`),
  );
  const out: Record<string, string[]> = {};
  for (const { s, t } of tables as { s: string; t: string }[]) {
    const name = `"${s.replaceAll('"', '""')}"."${t.replaceAll('"', '""')}"`;
    const rows = rowsOf(await database.db.execute(sql.raw(`select * from ${name}`)));
    out[`${s}.${t}`] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return out;
}

/** Shapes of a stack trace or of source locations that must never reach a client. */
const STACK_TRACE = [
  /\n\s+at\s/,
  /\bat\s+\S+\s+\((?:file|ext|node):/,
  /file:\/\//,
  /ext:[a-z_]+\//,
  /\.tsx?:\d+:\d+/,
  /\.m?js:\d+:\d+/,
  /node_modules/,
];

/** The pattern a body matches if it leaks a stack trace, or undefined. */
export function stackTraceIn(body: string): RegExp | undefined {
  return STACK_TRACE.find((re) => re.test(body));
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

const REPO = new URL("../../", import.meta.url).pathname;

/** The app as `deno task start` runs it: `main.ts` in its own process. */
export interface AppProcess extends AsyncDisposable {
  url: string;
  pid: number;
  /** Resolves with the exit status when the process ends. */
  status: Promise<Deno.CommandStatus>;
  /** Everything it printed so far. */
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves with the exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

/**
 * Starts `main.ts` with exactly `env` (plus PATH, HOME, DENO_DIR) from a temporary working
 * directory (so no `.env` is read), and waits until `/healthz` answers.
 */
export async function spawnApp(env: Record<string, string>, port: number): Promise<AppProcess> {
  const cwd = await Deno.makeTempDir({ prefix: "reliability-app-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", `${REPO}deno.json`, `${REPO}main.ts`],
    cwd,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      HOST: "127.0.0.1",
      PORT: String(port),
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const drain = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const drained = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const url = `http://127.0.0.1:${port}`;
  let exited = false;
  const status = child.status.then(async (s) => {
    exited = true;
    await drained;
    await Deno.remove(cwd, { recursive: true }).catch(() => {});
    return s;
  });
  const stop = () => exited ? status : stopProcess(child, status);
  try {
    await waitFor("the app process to answer /healthz", async () => {
      if (exited) throw new Error(`the app exited:\n${text}`);
      const res = await fetch(`${url}/healthz`);
      await res.body?.cancel();
      return res.status === 200;
    }, { timeoutMs: 60_000, intervalMs: 200 });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}\n--- app output ---\n${text}`);
  }
  return {
    url,
    pid: child.pid,
    status,
    output: () => text,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}
