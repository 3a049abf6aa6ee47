/**
 * Call sync throughput at many portals (`deno task bench:sync`): `--portals` emulated portals
 * (dev/portal/, each with Bitrix24's own rate limit: bursts of 50, then 2 requests a second) in a
 * process of their own (so they do not share the app's thread), a fresh PostgreSQL, `--rows`
 * ended calls due on each portal, and `--instances` app instances (`openServices`, as `main.ts`
 * builds them, each in this process) on that database running their sync loops until every row
 * is synced. Printed: the time the portals' rate limits allow for the work at best (every portal
 * sending its 2 × rows requests as fast as its bucket lets it) beside the time the sync took, the
 * achieved request rate beside that ceiling, and how many calls were registered or finished more
 * than once (the target: none).
 *
 * Options: `--portals 100 --rows 60 --instances 1 --concurrency 32`.
 *
 * @module
 */
import { type Portal, startPortal } from "../dev/portal/mod.ts";
import { parseConfig } from "../lib/server/config.ts";
import { openServices, type Services } from "../lib/server/services.ts";
import { calls as callsTable } from "../lib/server/db/schema.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { log } from "../lib/server/log.ts";
import { startPostgres } from "../tests/support/postgres.ts";
import { waitFor } from "../tests/support/wait.ts";

function parseArgs(args: string[]) {
  const opts: Record<string, string> = {
    portals: "100",
    rows: "60",
    instances: "1",
    concurrency: "32",
  };
  for (let i = 0; i < args.length; i += 2) opts[args[i].replace(/^--/, "")] = args[i + 1];
  return Object.fromEntries(Object.entries(opts).map(([k, v]) => [k, Number(v)]));
}

const BURST = 50;
const PER_SECOND = 2;

/** What the portals' process tells about each portal. */
interface PortalInfo {
  memberId: string;
  domain: string;
  clientEndpoint: string;
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  expires: number;
}

/** What the portals' process counts at the end. */
interface PortalCounts {
  registers: number;
  registeredTwice: number;
  finishes: number;
  finishedTwice: number;
  rateLimited: number;
}

/**
 * The child: starts `count` portals, prints their endpoints and an admin token each as one JSON
 * line, then prints the counts as one JSON line at every line read from stdin (until it ends).
 */
async function servePortals(count: number) {
  const portals: Portal[] = [];
  for (let i = 0; i < count; i++) portals.push(await startPortal({ app: { type: "local" } }));
  const infos: PortalInfo[] = portals.map((p) => {
    const t = p.issueTokens({ userId: 1 });
    return { ...p, accessToken: t.accessToken, refreshToken: t.refreshToken, expires: t.expires };
  });
  console.log(JSON.stringify(infos));
  const decoder = new TextDecoder();
  for await (const chunk of Deno.stdin.readable) {
    if (!decoder.decode(chunk).includes("\n")) continue;
    const ok = (method: string) =>
      portals.flatMap((p) => p.records.calls(method).filter((c) => c.status === 200));
    const twice = (values: unknown[]) => values.length - new Set(values).size;
    const registers = ok("telephony.externalcall.register").map((c) => c.params.EXTERNAL_CALL_ID);
    const finishes = ok("telephony.externalcall.finish").map((c) => c.params.CALL_ID);
    const counts: PortalCounts = {
      registers: registers.length,
      registeredTwice: twice(registers),
      finishes: finishes.length,
      finishedTwice: twice(finishes),
      rateLimited: portals.reduce(
        (n, p) => n + p.records.calls().filter((c) => c.error === "QUERY_LIMIT_EXCEEDED").length,
        0,
      ),
    };
    console.log(JSON.stringify(counts));
  }
  for (const p of portals) await p.close();
}

/** User + system CPU seconds of process `pid` so far (Linux `/proc`). */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Reads JSON lines from the child's stdout. */
function jsonLines(stream: ReadableStream<Uint8Array>): () => Promise<unknown> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return async () => {
    for (;;) {
      const end = buffer.indexOf("\n");
      if (end >= 0) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 1);
        return JSON.parse(line);
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("the portals' process ended");
      buffer += decoder.decode(value, { stream: true });
    }
  };
}

async function main() {
  const { portals: portalCount, rows, instances, concurrency } = parseArgs(Deno.args);
  log.setLevel("error");
  await using pg = await startPostgres();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--serve-portals", String(portalCount)],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const next = jsonLines(child.stdout);
  const stdin = child.stdin.getWriter();
  const portals = await next() as PortalInfo[];
  const env = {
    DATABASE_URL: pg.url,
    ENCRYPTION_KEY: generateKey(),
    BITRIX_ALLOW_INSECURE_PORTALS: "true",
    LOG_LEVEL: "error",
    SYNC_CONCURRENCY: String(concurrency),
    DATABASE_POOL_SIZE: "5",
  };
  const apps: Services[] = [];
  for (let i = 0; i < instances; i++) {
    const services = await openServices(parseConfig(env), {
      bitrix: { syncBackoffMs: () => 500 },
    });
    await services.migrated;
    apps.push(services);
  }
  try {
    const [first] = apps;
    const now = new Date();
    for (const portal of portals) {
      const { portal: stored } = await first.portals.upsertInstall({
        memberId: portal.memberId,
        domain: portal.domain,
        clientEndpoint: portal.clientEndpoint,
        serverEndpoint: portal.serverEndpoint,
        tokens: {
          accessToken: portal.accessToken,
          refreshToken: portal.refreshToken,
          expiresAt: new Date(portal.expires * 1000),
        },
        installedByUserId: 1,
      });
      await first.database.db.insert(callsTable).values(
        Array.from({ length: rows }, (_, n) => ({
          id: crypto.randomUUID(),
          portalId: stored.id,
          bitrixUserId: 2 + (n % 2),
          sipCallId: `bench-${n}-${crypto.randomUUID()}@pbx`,
          direction: "outbound" as const,
          phoneNumber: `+7495${String(n).padStart(7, "0")}`,
          startedAt: new Date(now.getTime() - 60_000),
          answeredAt: new Date(now.getTime() - 50_000),
          endedAt: now,
          durationSec: 50,
          sipStatus: 200,
          nextSyncAt: now,
        })),
      );
    }
    const requests = portalCount * rows * 2;
    // Each portal's bucket lets its first 50 requests through at once, then 2 a second.
    const idealMs = Math.max(0, (rows * 2 - BURST) / PER_SECOND) * 1000;
    const cpuBefore = { app: cpuSeconds(Deno.pid), portals: cpuSeconds(child.pid) };
    const started = performance.now();
    for (const services of apps) services.bitrix.callSync.start(200);
    await waitFor("every row synced", async () => await first.calls.countPending() === 0, {
      timeoutMs: 900_000,
      intervalMs: 200,
    });
    const tookMs = performance.now() - started;
    const cpu = {
      app: cpuSeconds(Deno.pid) - cpuBefore.app,
      portals: cpuSeconds(child.pid) - cpuBefore.portals,
    };
    await stdin.write(new TextEncoder().encode("counts\n"));
    const counts = await next() as PortalCounts;
    const ceiling = requests / Math.max(idealMs, 1) * 1000;
    const achieved = requests / tookMs * 1000;
    console.log(
      `call sync: ${portalCount} portals x ${rows} ended calls (${requests} requests), ` +
        `${instances} instance(s), SYNC_CONCURRENCY=${concurrency}; ` +
        `${navigator.hardwareConcurrency} cores`,
    );
    console.log(
      `  the portals' rate limits allow it in ${(idealMs / 1000).toFixed(1)} s ` +
        `(${ceiling.toFixed(0)} requests/s); the sync took ${(tookMs / 1000).toFixed(1)} s ` +
        `(${achieved.toFixed(0)} requests/s, ${(100 * achieved / ceiling).toFixed(0)}% of the ` +
        `ceiling)`,
    );
    console.log(
      `  registered ${counts.registers} (twice: ${counts.registeredTwice}), finished ` +
        `${counts.finishes} (twice: ${counts.finishedTwice}), refused by a rate limit: ` +
        `${counts.rateLimited}`,
    );
    console.log(
      `  CPU meanwhile: the app (and PostgreSQL's client) ${cpu.app.toFixed(1)} s, the portals ` +
        `${cpu.portals.toFixed(1)} s (PostgreSQL itself not counted)`,
    );
  } finally {
    for (const services of apps) await services.close();
    await stdin.close();
    await child.status;
  }
}

if (import.meta.main) {
  const serve = Deno.args.indexOf("--serve-portals");
  if (serve >= 0) await servePortals(Number(Deno.args[serve + 1]));
  else await main();
}
