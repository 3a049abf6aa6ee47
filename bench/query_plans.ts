/**
 * Query plans as the journal grows (`deno task bench:queries`): a throwaway PostgreSQL server
 * (tests/support/postgres.ts) filled with `--sizes` call rows (100,000 and 1,000,000 by
 * default; a fifth of them on one big portal of 50 users, the rest spread over 999 portals,
 * started over the last 400 days, 2% click-to-call placeholders, 1% pending). Every periodic or
 * per-request query the app sends runs once through the real repositories (`CallRepo`,
 * `CallRetention`) on the big portal; its SQL is captured and timed with
 * `EXPLAIN (ANALYZE, BUFFERS)` (writes inside a transaction that is rolled back). The table
 * prints each query's execution time per size and every sequential scan of the `calls` table
 * (the target: none).
 *
 * Then the app's memory on each database (the floor: the app on PostgreSQL): `main.ts` with
 * `deno task start`'s flags on a new PGlite directory (its first start runs `initdb`), on that
 * directory again, and on PostgreSQL: the peak resident size (`VmHWM`) until it is ready and the
 * resident size (`VmRSS`) after `--idle` seconds.
 *
 * Options: `--sizes 100000,1000000 --idle 10 --only plans,memory`.
 *
 * @module
 */
import postgres from "postgres";
import { drizzle } from "drizzle-orm/postgres-js";
import { openDatabase } from "../lib/server/db/client.ts";
import * as schema from "../lib/server/db/schema.ts";
import { CallRepo } from "../lib/server/db/calls.ts";
import { CallRetention } from "../lib/server/db/call_retention.ts";
import type { Db } from "../lib/server/db/client.ts";
import { startPostgres } from "../tests/support/postgres.ts";
import { freePort } from "../tests/support/ports.ts";
import { stopProcess } from "../tests/support/process.ts";
import { waitFor } from "../tests/support/wait.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";

const ROOT = new URL("../", import.meta.url).pathname;

function parseArgs(args: string[]) {
  const opts: Record<string, string> = {
    sizes: "100000,1000000",
    idle: "10",
    only: "plans,memory",
  };
  for (let i = 0; i < args.length; i++) {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m || !(m[1] in opts)) {
      console.error(`unknown argument ${args[i]}; options: ${Object.keys(opts).join(", ")}`);
      Deno.exit(2);
    }
    opts[m[1]] = m[2] ?? args[++i] ?? "";
  }
  return opts;
}

const opts = parseArgs(Deno.args);
const only = opts.only.split(",");
const PORTALS = 1000;
const USERS = 50;
const BIG_PORTAL_MEMBER = "member-0";

/** A captured statement: its SQL and parameters as drizzle sent them. */
interface Statement {
  sql: string;
  params: unknown[];
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  Plans?: PlanNode[];
}

/** The scans of a plan: `Seq Scan on calls`, `Index Scan using calls_…`. */
function scansOf(node: PlanNode, out: string[] = []): string[] {
  if (node["Relation Name"] || node["Index Name"]) {
    out.push(
      node["Index Name"]
        ? `${node["Node Type"]} ${node["Index Name"]}`
        : `${node["Node Type"]} on ${node["Relation Name"]}`,
    );
  }
  for (const child of node.Plans ?? []) scansOf(child, out);
  return out;
}

/** Adds `from ≤ n < to` call rows (see the module doc). */
async function fill(sql: postgres.Sql, from: number, to: number) {
  await sql.unsafe(
    `insert into calls (id, portal_id, bitrix_user_id, sip_call_id, direction, phone_number,
       bitrix_call_id, origin, started_at, ended_at, sync_state, registered_in_bitrix,
       finished_in_bitrix, next_sync_at, created_at, updated_at)
     select gen_random_uuid(), p.id, 1 + (g / 7) % ${USERS},
       case when g % 50 = 7 then 'bitrix24:externalCall.' || g else 'sip-' || g end,
       'outbound', '+7495' || lpad((g % 10000000)::text, 7, '0'), 'externalCall.' || g,
       case when g % 50 = 7 then 'click_to_call' else 'phone' end,
       t.at, case when g % 5000 = 7 then null else t.at + interval '1 minute' end,
       case when g % 100 = 3 then 'pending' else 'synced' end, true, g % 100 <> 3,
       case when g % 100 = 3 then now() + interval '1 hour' else t.at end, t.at, t.at
     from generate_series(${from}, ${to - 1}) g
     cross join lateral (select now() - (random() * 400) * interval '1 day' as at) t
     join lateral (select id from portals
       where member_id = 'member-' || case when g % 5 = 0 then 0 else 1 + g % ${PORTALS - 1} end
     ) p on true`,
  );
  await sql`analyze calls`;
}

/** The app's queries, each run once through its repository with statements captured. */
async function captureQueries(url: string, portalId: string) {
  const captured: Statement[] = [];
  const client = postgres(url, { max: 2, onnotice: () => {} });
  const db = drizzle({
    client,
    schema,
    logger: { logQuery: (sql, params) => void captured.push({ sql, params }) },
  }) as unknown as Db;
  const calls = new CallRepo(db);
  const queries: Record<string, Statement[]> = {};
  const take = async (name: string, fn: () => Promise<unknown>) => {
    captured.length = 0;
    await fn();
    queries[name] = captured.filter((s) => !/^(begin|commit|rollback)/i.test(s.sql.trim()));
  };
  const userId = 1;
  const [{ sip_call_id: sipCallId, bitrix_call_id: bitrixCallId }] = await client`
    select sip_call_id, bitrix_call_id from calls
    where portal_id = ${portalId} and bitrix_user_id = ${userId} limit 1`;
  // Periodic (every sync pass, every /metrics scrape, the hourly retention pass).
  await take(
    "sync: end undialled click-to-calls",
    () => calls.endUndialledClickToCalls(new Date(Date.now() - 600_000)),
  );
  await take("sync: claim due rows", () => calls.claimDue(20, 60_000));
  await take("metrics: count pending", () => calls.countPending());
  await take("retention: one batch", async () => {
    // Capture with a cutoff before every row (nothing deleted); timed below with the real one.
    await new CallRetention(db, { now: () => new Date(365 * 86_400_000) }).runOnce();
    captured.splice(2); // the first page of portals and the first portal's batch
  });
  // Per request.
  await take("history: a user's calls", () => calls.list(portalId, { userId, limit: 50 }));
  await take("history: a portal's calls", () => calls.list(portalId, { limit: 50 }));
  await take(
    "card: find by CALL_ID",
    () => calls.findByBitrixCallId(portalId, bitrixCallId, userId),
  );
  await take("report: find the user's call", () => calls.find(portalId, userId, sipCallId));
  await take("report: the user's report load", () =>
    calls.reportLoad(portalId, userId, {
      liveSince: new Date(Date.now() - 3_600_000),
      startsSince: new Date(Date.now() - 60_000),
    }));
  await take(
    "report: another user's CALL_ID?",
    () => calls.isAnotherUsersCall(portalId, bitrixCallId, userId + 1),
  );
  await take("report: record a start", () =>
    calls.recordStart({
      portalId,
      bitrixUserId: userId,
      sipCallId: `bench-${crypto.randomUUID()}`,
      direction: "outbound",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
    }));
  await client.end();
  return queries;
}

/** EXPLAIN (ANALYZE) of a statement in a transaction rolled back afterwards. */
async function explain(sql: postgres.Sql, statement: Statement) {
  const rollback = new Error("rollback");
  let plan: { "Execution Time": number; Plan: PlanNode } | undefined;
  await sql.begin(async (tx) => {
    const [row] = await tx.unsafe(
      `explain (analyze, buffers, format json) ${statement.sql}`,
      statement.params as postgres.ParameterOrJSON<never>[],
    );
    plan = (row["QUERY PLAN"] as typeof plan[])[0];
    throw rollback;
  }).catch((err) => {
    if (err !== rollback) throw err;
  });
  return plan!;
}

async function plans() {
  const sizes = opts.sizes.split(",").map(Number).sort((a, b) => a - b);
  const pg = await startPostgres();
  const results = new Map<string, { ms: string[]; scans: Set<string> }>();
  try {
    const database = await openDatabase(pg.url);
    await database.migrate();
    await database.close();
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    await sql.unsafe(
      `insert into portals (id, member_id, domain, client_endpoint, installed)
       select gen_random_uuid(), 'member-' || g, 'p' || g || '.bitrix24.com',
         'https://p' || g || '.bitrix24.com/rest/', true
       from generate_series(0, ${PORTALS - 1}) g`,
    );
    const [{ id: portalId }] = await sql`
      select id from portals where member_id = ${BIG_PORTAL_MEMBER}`;
    let rows = 0;
    for (const size of sizes) {
      const filling = performance.now();
      await fill(sql, rows, size);
      rows = size;
      console.log(
        `${size} call rows (${((performance.now() - filling) / 1000).toFixed(0)} s to add)`,
      );
      const queries = await captureQueries(pg.url, portalId);
      for (const [name, statements] of Object.entries(queries)) {
        let ms = 0;
        const scans = results.get(name)?.scans ?? new Set<string>();
        for (const statement of statements) {
          if (name.startsWith("retention") && /^delete/i.test(statement.sql)) {
            // The real cutoff: a year ago.
            const early = new Date(0).toISOString().slice(0, 4);
            statement.params = statement.params.map((p) =>
              typeof p === "string" && p.startsWith(early)
                ? new Date(Date.now() - 365 * 86_400_000).toISOString()
                : p
            );
          }
          const plan = await explain(sql, statement);
          ms += plan["Execution Time"];
          for (const scan of scansOf(plan.Plan)) scans.add(scan);
        }
        const entry = results.get(name) ?? { ms: [], scans };
        entry.ms.push(`${ms.toFixed(2)} ms`);
        results.set(name, entry);
      }
    }
    await sql.end();
  } finally {
    await pg.close();
  }
  const header = ["query", ...sizes.map((s) => `${s} rows`), "seq scan of calls", "scans"];
  const table = [...results].map(([name, { ms, scans }]) => [
    name,
    ...ms,
    [...scans].some((s) => s === "Seq Scan on calls") ? "YES" : "no",
    [...scans].join(", "),
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c].length)));
  for (const r of [header, ...table]) {
    console.log(
      r.map((cell, c) =>
        c > 0 && c <= sizes.length ? cell.padStart(widths[c]) : cell.padEnd(widths[c])
      ).join("  "),
    );
  }
}

/** VmHWM until the app is ready, VmRSS after `--idle` seconds (MiB). */
async function appMemory(databaseUrl: string, dir: string) {
  const port = freePort();
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  const v8 = (tasks.start as string).split(" ").filter((a) => a.startsWith("--v8-flags="));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...v8,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "main.ts",
    ],
    cwd: ROOT,
    env: {
      HOST: "127.0.0.1",
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      ENCRYPTION_KEY: generateKey(),
      LOG_LEVEL: "warn",
      LOCAL_KEY_FILE: `${dir}/master.key`,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const kb = async (name: string) => {
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`);
    return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  };
  try {
    const started = performance.now();
    await waitFor("the app to be ready", async () => {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
      await res?.body?.cancel();
      return res?.status === 200;
    }, { timeoutMs: 180_000, intervalMs: 200 });
    const readyS = (performance.now() - started) / 1000;
    const peak = await kb("VmHWM");
    await new Promise((resolve) => setTimeout(resolve, Number(opts.idle) * 1000));
    return { readyS, peak, idle: await kb("VmRSS") };
  } finally {
    await stopProcess(child, child.status);
  }
}

async function memory() {
  const dir = await Deno.makeTempDir({ prefix: "bench-queries-" });
  const pg = await startPostgres();
  try {
    const runs: [string, string][] = [
      ["PGlite, first start (initdb)", `pglite:${dir}/pg`],
      ["PGlite, restart", `pglite:${dir}/pg`],
      ["PostgreSQL (floor)", pg.url],
    ];
    console.log(`\nthe app's memory (idle after ${opts.idle} s):`);
    for (const [name, url] of runs) {
      const m = await appMemory(url, dir);
      console.log(
        `${name.padEnd(30)} ready in ${m.readyS.toFixed(1).padStart(5)} s  ` +
          `peak ${m.peak.toFixed(0).padStart(4)} MiB  idle ${m.idle.toFixed(0).padStart(4)} MiB`,
      );
    }
  } finally {
    await pg.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (only.includes("plans")) await plans();
if (only.includes("memory")) await memory();
