/**
 * Memory at many portals (`deno task bench:memory`): the real app (`main.ts` as a subprocess
 * with `deno task start`'s heap cap, on PostgreSQL when installed, else PGlite) with
 * `--installed` portals in its database (50,000 by default), of which growing numbers become
 * **active** (1,000, 5,000, 10,000 by default). An active portal has had, once:
 *
 * - a frame request (`GETME` with a new user token: verified with the portal, then cached by
 *   token, user and portal row), and
 * - an event (`ONEXTERNALCALLSTART` from the mobile app: the event's application token is
 *   verified and cached, a journal row is written and synced at once, so the portal gets its
 *   REST client and calls `telephony.externalcall.finish`).
 *
 * After each step the app's V8 heap (`/metrics`) and resident size (`VmRSS`, peak `VmHWM`) are
 * printed beside the floor of the same run: the same app started with no portal active, and a
 * bare `Deno.serve` process.
 *
 * The portals are served by one in-process **portal farm**: a REST endpoint answering every
 * portal the bench installed (`app.info`, `user.current`, `user.admin`, `batch`, the telephony
 * methods) with the answer shapes of the emulator in dev/portal/ (whose `startPortal` hosts one
 * portal per pair of servers, too many sockets for 10,000). The farm checks nothing: it stands
 * in for portals that answer, so the figures are the app's own memory.
 *
 * Options: `--installed 50000 --steps 1000,5000,10000 --concurrency 16 --db auto|postgres|pglite
 * --app-flags "<deno run flags>"` (default: the `--v8-flags=…` of `deno task start`).
 *
 * @module
 */
import { freePort } from "../tests/support/ports.ts";
import { stopProcess } from "../tests/support/process.ts";
import { waitFor } from "../tests/support/wait.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { parseConfig } from "../lib/server/config.ts";
import { openServices } from "../lib/server/services.ts";
import { readRestRequest } from "../dev/portal/rest/request.ts";
import { timeBlock } from "../dev/portal/rest/time.ts";
import { portals } from "../lib/server/db/schema.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const APP_CODE = "bench.sipphone";

function parseArgs(args: string[]) {
  const opts: Record<string, string> = {
    installed: "50000",
    steps: "1000,5000,10000",
    concurrency: "16",
    db: "auto",
    "app-flags": startTaskV8Flags(),
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

/** The `--v8-flags=…` of `deno task start` (the heap cap), so the app runs as it does there. */
function startTaskV8Flags(): string {
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`)).tasks;
  return (tasks.start as string).split(" ").filter((a) => a.startsWith("--v8-flags=")).join(" ");
}

const opts = parseArgs(Deno.args);
const installed = Number(opts.installed);
const steps = opts.steps.split(",").map(Number).filter((n) => n > 0 && n <= installed);
const concurrency = Number(opts.concurrency);

const memberOf = (i: number) => `bench-member-${i}`;
const userTokenOf = (i: number) => `bench-user-token-${i}`;
const appTokenOf = (i: number) => `bench-app-token-${i}`;

/** VmRSS and VmHWM of a process, in MiB. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** The app's V8 heap, read from its `/metrics` (MiB). */
async function heapOf(url: string): Promise<{ total: number; used: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const mib = (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN) / 1048576;
  return { total: mib("deno_heap_total_bytes"), used: mib("deno_heap_used_bytes") };
}

/** One REST endpoint answering every bench portal; counts the calls it got by method. */
function startPortalFarm() {
  const counts = new Map<string, number>();
  const port = freePort();
  const answerOf = (method: string): unknown => {
    counts.set(method, (counts.get(method) ?? 0) + 1);
    switch (method) {
      case "app.info":
        return { ID: 1, CODE: APP_CODE, VERSION: 1, STATUS: "P", INSTALLED: true };
      case "user.current":
        return { ID: "1", ACTIVE: true, NAME: "Bench" };
      case "user.admin":
        return true;
      case "telephony.externalcall.register":
        return { CALL_ID: `externalCall.${crypto.randomUUID()}` };
      default:
        return true;
    }
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    const method = new URL(req.url).pathname.replace(/^\/rest\/+/, "").replace(/\.json$/, "")
      .toLowerCase();
    const { params } = await readRestRequest(req);
    const now = Date.now();
    let result: unknown;
    if (method === "batch") {
      const cmd = (params.cmd ?? params.CMD ?? {}) as Record<string, string>;
      const results: Record<string, unknown> = {};
      const time: Record<string, unknown> = {};
      for (const [key, call] of Object.entries(cmd)) {
        results[key] = answerOf(String(call).split("?")[0].toLowerCase());
        time[key] = timeBlock(now, now);
      }
      result = {
        result: results,
        result_error: [],
        result_total: [],
        result_next: [],
        result_time: time,
      };
    } else {
      result = answerOf(method);
    }
    return Response.json({ result, time: timeBlock(now, Date.now()) });
  });
  return {
    clientEndpoint: `http://127.0.0.1:${port}/rest/`,
    counts,
    close: () => server.shutdown(),
  };
}

/** A subprocess whose output goes to a log file (the pid is the Deno process's own). */
function spawn(args: string[], env: Record<string, string>, logFile: string) {
  const child = new Deno.Command("sh", {
    args: ["-c", 'exec "$0" "$@" >"$BENCH_LOG" 2>&1', Deno.execPath(), ...args],
    cwd: ROOT,
    env: {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      ...env,
      BENCH_LOG: logFile,
    },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return { pid: child.pid, stop: () => stopProcess(child, child.status) };
}

function answering(url: string): Promise<boolean> {
  return waitFor(`${url} to answer 200`, async () => {
    const res = await fetch(url).catch(() => undefined);
    await res?.body?.cancel();
    return res?.status === 200;
  }, { timeoutMs: 120_000, intervalMs: 200 });
}

/** Runs `fn(i)` for `from ≤ i < to`, `concurrency` at a time. */
async function forEach(from: number, to: number, fn: (i: number) => Promise<void>) {
  let next = from;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < to) await fn(next++);
  }));
}

async function databaseUrl(dir: string, cleanups: (() => Promise<unknown>)[]) {
  if (opts.db !== "pglite") {
    try {
      const { startPostgres } = await import("../tests/support/postgres.ts");
      const pg = await startPostgres();
      cleanups.push(() => pg.close());
      return { kind: "postgresql", url: pg.url };
    } catch (err) {
      if (opts.db === "postgres") throw err;
      console.error(`PostgreSQL not available (${(err as Error).message}); using PGlite`);
    }
  }
  return { kind: "pglite", url: `pglite:${dir}/pg` };
}

/**
 * Installs `installed` portals served by the farm: the first `active` as the installer does
 * (sealed tokens, an application token), the others as bare rows (never touched by the bench).
 */
async function seed(env: Record<string, string>, clientEndpoint: string, active: number) {
  const services = await openServices(parseConfig(env));
  try {
    await services.migrated;
    for (let from = active; from < installed; from += 1000) {
      const to = Math.min(installed, from + 1000);
      await services.database.db.insert(portals).values(
        Array.from({ length: to - from }, (_, k) => ({
          id: crypto.randomUUID(),
          memberId: memberOf(from + k),
          domain: `bench-${from + k}.bitrix24.com`,
          clientEndpoint,
          installed: true,
        })),
      );
    }
    await forEach(0, active, async (i) => {
      const { portal } = await services.portals.upsertInstall({
        memberId: memberOf(i),
        domain: `bench-${i}.bitrix24.com`,
        clientEndpoint,
        serverEndpoint: "https://oauth.bitrix.info/rest/",
        tokens: {
          accessToken: `bench-access-${i}`,
          refreshToken: `bench-refresh-${i}`,
          expiresAt: new Date(Date.now() + 3600_000),
        },
        installedByUserId: 1,
      });
      if (i < active) await services.portals.setApplicationToken(portal.id, appTokenOf(i));
    });
  } finally {
    await services.close();
  }
}

/** Makes portal `i` active: one frame request and one synced click-to-call. */
async function activate(appUrl: string, i: number): Promise<void> {
  const widget = await fetch(`${appUrl}/api/bitrix/widget`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${userTokenOf(i)}`,
      "x-member-id": memberOf(i),
      "content-type": "application/json",
    },
    body: JSON.stringify({ event: "GETME" }),
  });
  const widgetText = await widget.text();
  const event = await fetch(`${appUrl}/api/bitrix/callback`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      event: "ONEXTERNALCALLSTART",
      "data[PHONE_NUMBER]": "+74951234567",
      "data[USER_ID]": "1",
      "data[CALL_ID]": `externalCall.bench.${i}`,
      "data[IS_MOBILE]": "1",
      "auth[domain]": `bench-${i}.bitrix24.com`,
      "auth[member_id]": memberOf(i),
      "auth[application_token]": appTokenOf(i),
    }),
  });
  const eventText = await event.text();
  if (widget.status !== 200 || event.status !== 200) {
    throw new Error(
      `portal ${i}: widget ${widget.status} ${widgetText.slice(0, 200)}, ` +
        `event ${event.status} ${eventText.slice(0, 200)}`,
    );
  }
}

const mib = (n: number) => `${n.toFixed(0).padStart(5)} MiB`;

async function main() {
  const dir = await Deno.makeTempDir({ prefix: "bench-memory-" });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const db = await databaseUrl(dir, cleanups);
    const farm = startPortalFarm();
    cleanups.push(() => farm.close());
    const appPort = freePort();
    const env = {
      HOST: "127.0.0.1",
      PORT: String(appPort),
      APP_BASE_URL: `http://127.0.0.1:${appPort}`,
      DATABASE_URL: db.url,
      ENCRYPTION_KEY: generateKey(),
      BITRIX_APP_CODE: APP_CODE,
      BITRIX_ALLOW_INSECURE_PORTALS: "true",
      LOG_LEVEL: "warn",
    };
    const active = Math.max(0, ...steps);
    const seeding = performance.now();
    await seed(env, farm.clientEndpoint, active);
    console.log(
      `database: ${db.kind}; ${installed} portals installed in ` +
        `${((performance.now() - seeding) / 1000).toFixed(0)} s; app flags: ${opts["app-flags"]}`,
    );

    const bare = spawn(
      [
        "eval",
        `Deno.serve({ hostname: "127.0.0.1", port: ${freePort()} }, () => new Response("ok"));`,
      ],
      {},
      `${dir}/bare.log`,
    );
    cleanups.push(() => bare.stop());
    const app = spawn(
      [
        "run",
        ...opts["app-flags"].split(" ").filter(Boolean),
        "--allow-net",
        "--allow-read",
        "--allow-write",
        "--allow-env",
        "--allow-sys",
        "main.ts",
      ],
      env,
      `${dir}/app.log`,
    );
    cleanups.push(() => app.stop());
    const appUrl = `http://127.0.0.1:${appPort}`;
    await answering(`${appUrl}/readyz`);
    await new Promise((resolve) => setTimeout(resolve, 2000));

    const rows: string[][] = [];
    const row = async (what: string, pid: number, heap?: { used: number; total: number }) => {
      const memory = await memoryOf(pid);
      rows.push([
        what,
        heap ? mib(heap.used) : "",
        heap ? mib(heap.total) : "",
        mib(memory.rss),
        mib(memory.peak),
      ]);
    };
    await row("floor: bare Deno.serve", bare.pid);
    await row("floor: the app, no portal active", app.pid, await heapOf(appUrl));
    let done = 0;
    for (const step of steps) {
      const started = performance.now();
      await forEach(done, step, (i) => activate(appUrl, i));
      await waitFor(
        `${step} click-to-calls finished in Bitrix24`,
        () => (farm.counts.get("telephony.externalcall.finish") ?? 0) >= step,
        {
          timeoutMs: 300_000,
          intervalMs: 250,
        },
      );
      const seconds = (performance.now() - started) / 1000;
      done = step;
      await row(
        `${step} active portals (+${seconds.toFixed(0)} s)`,
        app.pid,
        await heapOf(appUrl),
      );
    }
    const header = ["", "heap used", "heap total", "RSS", "peak RSS"];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    for (const r of [header, ...rows]) {
      console.log(
        r.map((cell, c) => c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))
          .join("  "),
      );
    }
    console.log(`REST calls the portals got: ${JSON.stringify(Object.fromEntries(farm.counts))}`);
  } finally {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

await main();
