/**
 * HTTP load benchmark (`deno task bench:http`): the real app (`main.ts` as a subprocess, on
 * PostgreSQL when installed, else PGlite) with the Bitrix24 portal emulator, beside a bare
 * `Deno.serve` hello-world subprocess, both loaded by `wrk` with the same request shapes:
 *
 * - `placement`: `POST /?DOMAIN=…` with the form fields of a DEFAULT page load (the frame token
 *   is verified with the portal once, then cached);
 * - `widget`: `POST /api/bitrix/widget` `{"event":"GETME"}` with the frame headers (cached auth;
 *   the answer includes the user's SIP account, decrypted);
 * - `event`: `POST /api/bitrix/callback` with a **valid** ONEXTERNALCALLSTART form (the
 *   portal's application token, a new CALL_ID per request, so each request authenticates the
 *   event and inserts a journal row).
 *
 * - `floor` (for reference, no target): `GET /healthz`, the middleware chain alone.
 * - `dbfloor` (for reference, no target; PostgreSQL only): `bench/db_floor.ts`, a bare
 *   `Deno.serve` reading one row per request: the ceiling of any endpoint that reads the database.
 *
 * Prints req/s, p50/p99 latency, errors (socket errors + non-2xx/3xx), the server's RSS
 * (`VmRSS`, and the peak `VmHWM`) and the ratio to the baseline, with the targets beside them.
 *
 * Options: `--duration 10s --connections 100 --threads 2 --warmup 2s --db auto|postgres|pglite
 * --log-level info --only floor,dbfloor,placement,widget,event --json <file> --profile <dir>
 * --app-flags "<deno run flags>" --app-env "NAME=value …"`. `--app-flags` defaults to the
 * `--v8-flags=…` of `deno task start` (the heap cap); pass `--app-flags ""` to run without it. With `--profile`
 * the app runs under the inspector; each measured run writes `<dir>/<endpoint>.cpuprofile` (open
 * in Chrome DevTools) and prints the functions and packages with the most self time.
 *
 * @module
 */
import { startPortal } from "../dev/portal/mod.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { stopProcess } from "../tests/support/process.ts";
import { freePort } from "../tests/support/ports.ts";
import { waitFor } from "../tests/support/wait.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const LUA = new URL("./request.lua", import.meta.url).pathname;

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(args: string[]) {
  const opts: Record<string, string> = {
    duration: "10s",
    connections: "100",
    threads: "2",
    warmup: "2s",
    db: "auto",
    "log-level": "info",
    only: "floor,dbfloor,placement,widget,event",
    json: "",
    profile: "",
    "app-flags": startTaskV8Flags(),
    "app-env": "",
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

/** What the issue asks of each endpoint. */
const TARGETS = {
  ratio: { widget: 0.5, placement: 0.3, event: undefined } as Record<string, number | undefined>,
  p99Ms: 50,
  errors: 0,
  rssMb: 150,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/** VmRSS and VmHWM of a process, in MiB. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

/** The app's V8 heap after a run, read from its `/metrics` (MiB). */
async function heapOf(url: string): Promise<{ total: number; used: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const mib = (name: string) =>
    Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)?.[1] ?? NaN) / 1048576;
  return { total: mib("deno_heap_total_bytes"), used: mib("deno_heap_used_bytes") };
}

/** User + system CPU time of a process so far, in ms. */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ticks * 10; // USER_HZ is 100 on Linux
}

/** Waits until `url` answers 200 (a server subprocess is up). */
function answering(url: string): Promise<boolean> {
  return waitFor(`${url} to answer 200`, async () => {
    const res = await fetch(url);
    await res.body?.cancel();
    return res.status === 200;
  }, { timeoutMs: 60_000, intervalMs: 200 });
}

/** A server subprocess whose output goes to a log file (the pid is the server's own). */
interface Server {
  url: string;
  pid: number;
  logFile: string;
  stop(): Promise<void>;
}

function spawnServer(
  name: string,
  args: string[],
  env: Record<string, string>,
  port: number,
  dir: string,
): Server {
  const logFile = `${dir}/${name}.log`;
  const child = new Deno.Command("sh", {
    // `exec` keeps the pid: /proc/<pid> is the Deno process itself.
    args: ["-c", 'exec "$0" "$@" >"$BENCH_LOG" 2>&1', Deno.execPath(), ...args],
    cwd: ROOT,
    env: { ...env, BENCH_LOG: logFile },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    logFile,
    async stop() {
      await stopProcess(child, child.status);
    },
  };
}

interface WrkResult {
  requests: number;
  duration_us: number;
  bytes: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  max_us: number;
  mean_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
}

interface Shape {
  method: "GET" | "POST";
  /** Path with query. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

async function wrk(baseUrl: string, shape: Shape, duration: string, dir: string) {
  const bodyFile = `${dir}/body-${crypto.randomUUID()}`;
  if (shape.body !== undefined) await Deno.writeTextFile(bodyFile, shape.body);
  const out = await new Deno.Command("wrk", {
    args: [
      `-t${opts.threads}`,
      `-c${opts.connections}`,
      `-d${duration}`,
      "--timeout",
      "5s",
      "-s",
      LUA,
      `${baseUrl}${shape.path}`,
    ],
    env: {
      BENCH_METHOD: shape.method,
      BENCH_BODY_FILE: shape.body !== undefined ? bodyFile : "",
      BENCH_HEADERS: Object.entries(shape.headers).map(([k, v]) => `${k}: ${v}`).join("\n"),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(bodyFile).catch(() => {});
  const text = new TextDecoder().decode(out.stdout);
  const line = text.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (out.code !== 0 || !line) {
    throw new Error(`wrk failed (${out.code}): ${text}${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(line.slice("BENCH_JSON ".length)) as WrkResult;
}

// ---------------------------------------------------------------------------------------------
// CPU profiles through the inspector (Chrome DevTools Protocol)

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** A DevTools Protocol session with the app's inspector. */
async function inspect(port: number) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 1;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.onmessage = (e) => {
    const msg = JSON.parse(e.data);
    if (msg.id && waiting.has(msg.id)) {
      waiting.get(msg.id)!(msg.result);
      waiting.delete(msg.id);
    }
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: 200 });
  return {
    start: () => send("Profiler.start"),
    stop: async () => ((await send("Profiler.stop")) as { profile: { nodes: ProfileNode[] } }),
    close: () => ws.close(),
  };
}

/** Self time by function and by package/module, as shares of all samples. */
function summarizeProfile(nodes: ProfileNode[], top = 15): string {
  const total = nodes.reduce((n, node) => n + (node.hitCount ?? 0), 0) || 1;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  for (const node of nodes) {
    const hits = node.hitCount ?? 0;
    if (!hits) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url.replace(/^.*\/node_modules\/\.deno\//, "npm:").replace(
      /^file:\/\/\/.*?\/main\//,
      "",
    );
    const fn = `${functionName || "(anonymous)"} ${where ? `${where}:${lineNumber + 1}` : ""}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + hits);
    const pkg = /^npm:([^/]+)/.exec(where)?.[1] ??
      (where.startsWith("ext:")
        ? "deno runtime (ext:)"
        : where
        ? where.split("/").slice(0, 2).join("/")
        : functionName);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + hits);
  }
  const fmt = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top)
      .map(([k, v]) => `  ${(v / total * 100).toFixed(1).padStart(5)}%  ${k}`).join("\n");
  return `self time by package/module:\n${fmt(byPkg)}\nself time by function:\n${fmt(byFn)}`;
}

async function countLogErrors(file: string): Promise<{ errors: number; sample?: string }> {
  let text = "";
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return { errors: 0 };
  }
  const bad = text.split("\n").filter((l) =>
    /"level":"error"/.test(l) || /^error: |Uncaught|panicked/.test(l)
  );
  return { errors: bad.length, sample: bad[0]?.slice(0, 300) };
}

// ---------------------------------------------------------------------------------------------
// Main

async function machine() {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/^MemTotal:\s+(\d+)/m.exec(meminfo)?.[1]);
  const [load1] = (await Deno.readTextFile("/proc/loadavg")).split(" ");
  return {
    nproc: navigator.hardwareConcurrency,
    cpu: model,
    ramGiB: Math.round(memKb / 1024 / 1024 * 10) / 10,
    loadAvg1: Number(load1),
    deno: Deno.version.deno,
  };
}

async function main() {
  const dir = await Deno.makeTempDir({ prefix: "bench-http-" });
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  Deno.addSignalListener("SIGINT", () => cleanup().finally(() => Deno.exit(130)));
  try {
    await run(dir, cleanups);
  } finally {
    await cleanup();
  }
}

async function openDatabaseUrl(dir: string, cleanups: (() => Promise<unknown>)[]) {
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

async function run(dir: string, cleanups: (() => Promise<unknown>)[]) {
  const info = await machine();
  const db = await openDatabaseUrl(dir, cleanups);

  // The portal emulator (in this process; after install it is asked once per frame token).
  const portal = await startPortal({ app: { type: "local" }, rateLimit: false });
  cleanups.push(() => portal.close());

  // The app, exactly as `deno task start` runs it.
  const appPort = freePort();
  const inspectPort = freePort();
  const app = spawnServer(
    "app",
    [
      "run",
      ...(opts.profile ? [`--inspect=127.0.0.1:${inspectPort}`] : []),
      ...opts["app-flags"].split(" ").filter(Boolean),
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      "main.ts",
    ],
    {
      PATH: Deno.env.get("PATH") ?? "",
      HOME: Deno.env.get("HOME") ?? "",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      HOST: "127.0.0.1",
      PORT: String(appPort),
      APP_BASE_URL: `http://127.0.0.1:${appPort}`,
      DATABASE_URL: db.url,
      ENCRYPTION_KEY: generateKey(),
      BITRIX_OAUTH_URL: portal.tokenUrl,
      BITRIX_ALLOW_INSECURE_PORTALS: "true",
      LOG_LEVEL: opts["log-level"],
      ...Object.fromEntries(
        opts["app-env"].split(" ").filter(Boolean).map((kv) => kv.split(/=(.*)/s, 2)),
      ),
    },
    appPort,
    dir,
  );
  cleanups.push(() => app.stop());

  // The baseline: a bare Deno.serve hello-world.
  const basePort = freePort();
  const baseline = spawnServer(
    "baseline",
    [
      "eval",
      `Deno.serve({ hostname: "127.0.0.1", port: ${basePort}, onListen() {} }, ` +
      `() => new Response("Hello, world!"));`,
    ],
    { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "" },
    basePort,
    dir,
  );
  cleanups.push(() => baseline.stop());

  await answering(`${app.url}/readyz`);
  await answering(`${baseline.url}/`);

  // Install as the portal admin would, then give an employee a SIP account.
  const ADMIN = 1;
  const EMPLOYEE = 2;
  const { page } = await portal.installApp({ handlerUrl: `${app.url}/install` });
  const installed = await page!.post();
  await installed.body?.cancel();
  if (installed.status !== 200) throw new Error(`install answered ${installed.status}`);
  await portal.finishInstall();
  const frame = (userId: number) => ({
    authorization: `Bearer ${portal.issueTokens({ userId }).accessToken}`,
    "x-member-id": portal.memberId,
    "content-type": "application/json",
  });
  const admin = frame(ADMIN);
  for (
    const body of [
      { event: "UPDATECREED", clientId: portal.app.clientId, secretId: portal.app.clientSecret },
      {
        event: "SAVEUSERDATA",
        userId: EMPLOYEE,
        url: "wss://pbx.example.com/ws",
        user: "102",
        password: "bench-SIP-pass",
        displayName: "Bench",
      },
    ]
  ) {
    const res = await fetch(`${app.url}/api/bitrix/widget`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify(body),
    });
    if (res.status !== 200) throw new Error(`${body.event} answered ${res.status}`);
    await res.body?.cancel();
  }

  // The database floor (PostgreSQL only: PGlite lives inside the app's process).
  let dbFloor: Server | undefined;
  if (db.kind === "postgresql" && opts.only.split(",").includes("dbfloor")) {
    const port = freePort();
    dbFloor = spawnServer(
      "dbfloor",
      ["run", "--allow-net", "--allow-env", "--allow-read", "bench/db_floor.ts"],
      {
        PATH: Deno.env.get("PATH") ?? "",
        HOME: Deno.env.get("HOME") ?? "",
        ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
        PORT: String(port),
        DATABASE_URL: db.url,
        MEMBER_ID: portal.memberId,
      },
      port,
      dir,
    );
    cleanups.push(() => dbFloor!.stop());
    await answering(`${dbFloor.url}/`);
  }

  // The request shapes; each is checked once before the load.
  const load = portal.pageLoad({ handlerUrl: `${app.url}/`, userId: EMPLOYEE });
  const shapes: Record<string, Shape & { what: string }> = {
    floor: {
      what: "GET /healthz (the middleware chain alone: no database, no log line)",
      method: "GET",
      path: "/healthz",
      headers: {},
    },
    dbfloor: {
      what: "GET / of bench/db_floor.ts (bare Deno.serve, one PostgreSQL read)",
      method: "GET",
      path: "/",
      headers: {},
    },
    placement: {
      what: "POST / (page load form, cached frame auth)",
      method: "POST",
      path: load.url.slice(app.url.length),
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(load.fields).toString(),
    },
    widget: {
      what: "POST /api/bitrix/widget GETME (cached frame auth)",
      method: "POST",
      path: "/api/bitrix/widget",
      headers: frame(EMPLOYEE),
      body: JSON.stringify({ event: "GETME" }),
    },
    event: {
      what: "POST /api/bitrix/callback ONEXTERNALCALLSTART (valid, new row each)",
      method: "POST",
      path: "/api/bitrix/callback",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        event: "ONEXTERNALCALLSTART",
        "data[PHONE_NUMBER]": "+74951234567",
        "data[USER_ID]": String(EMPLOYEE),
        "data[CALL_ID]": "externalCall.bench.{{n}}",
        "data[LINE_NUMBER]": "webrtc",
        ts: String(Math.floor(Date.now() / 1000)),
        "auth[domain]": portal.domain,
        "auth[member_id]": portal.memberId,
        "auth[application_token]": portal.app.applicationToken,
      }).toString().replaceAll("%7B%7Bn%7D%7D", "{{n}}"),
    },
  };
  const selected = opts.only.split(",").map((s) => s.trim()).filter((s) => s in shapes);
  for (const name of selected) {
    const s = shapes[name];
    const res = await fetch(`${app.url}${s.path}`, {
      method: s.method,
      headers: s.headers,
      body: s.body?.replaceAll("{{n}}", "check"),
    });
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`${name} answered ${res.status}: ${text.slice(0, 300)}`);
    }
  }
  const verificationsBefore = portal.records.calls("batch").length;

  console.log(
    `machine: ${info.nproc} CPUs (${info.cpu}), ${info.ramGiB} GiB RAM, load ${info.loadAvg1}` +
      ` at start; Deno ${info.deno}; database ${db.kind}; LOG_LEVEL=${opts["log-level"]}`,
  );
  console.log(
    `wrk -t${opts.threads} -c${opts.connections} -d${opts.duration} (after a ${opts.warmup}` +
      ` warm-up), baseline and app loaded one after the other with the same requests\n`,
  );

  const idle = await memoryOf(app.pid);
  const rows: Row[] = [];
  for (const name of selected) {
    const shape = shapes[name];
    // The database floor stands in for the app in its row.
    const server = name === "dbfloor" ? dbFloor : app;
    if (!server) {
      console.log(`[dbfloor] skipped: it needs PostgreSQL (database is ${db.kind})\n`);
      continue;
    }
    if (opts.warmup !== "0" && opts.warmup !== "0s") {
      await wrk(baseline.url, shape, opts.warmup, dir);
      await wrk(server.url, shape, opts.warmup, dir);
    }
    const base = await measure(baseline, shape, dir);
    const profiler = opts.profile && server === app ? await inspect(inspectPort) : undefined;
    await profiler?.start();
    const got = await measure(server, shape, dir);
    if (server === app) got.heap = await heapOf(app.url);
    if (profiler) {
      const { profile } = await profiler.stop();
      profiler.close();
      await Deno.mkdir(opts.profile, { recursive: true });
      await Deno.writeTextFile(`${opts.profile}/${name}.cpuprofile`, JSON.stringify(profile));
      console.log(`[${name}] ${summarizeProfile(profile.nodes)}\n`);
    }
    rows.push({ endpoint: name, what: shape.what, baseline: base, app: got });
  }
  const appLog = await countLogErrors(app.logFile);
  const portalCalls = portal.records.calls("batch").length - verificationsBefore;

  // The table.
  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (n: number, d = 0) => n.toFixed(d);
  const header = [
    pad("endpoint", 10),
    pad("server", 9),
    pad("req/s", 8),
    pad("p50 ms", 7),
    pad("p99 ms", 7),
    pad("errors", 7),
    pad("CPU ms/req", 10),
    pad("RSS MB", 15),
    pad("vs base", 8),
    pad("heap MB", 9),
    "targets (✓ met, ✗ missed)",
  ].join(" ");
  console.log(header);
  console.log("-".repeat(header.length + 40));
  let missed = 0;
  for (const row of rows) {
    const { baseline: b, app: a } = row;
    const ratio = a.rps / b.rps;
    const want = TARGETS.ratio[row.endpoint];
    const reference = row.endpoint === "floor" || row.endpoint === "dbfloor";
    const checks: [string, boolean][] = reference ? [] : [
      ...(want === undefined ? [] : [[`≥${want * 100}% of base`, ratio >= want] as [
        string,
        boolean,
      ]]),
      [`p99<${TARGETS.p99Ms}ms`, a.p99 < TARGETS.p99Ms],
      ["0 errors", a.errors === TARGETS.errors],
      [`RSS<${TARGETS.rssMb}MB`, a.peakRss < TARGETS.rssMb],
    ];
    missed += checks.filter(([, ok]) => !ok).length;
    const line = (server: string, r: Measured, rest: string[]) =>
      console.log([
        pad(server === "baseline" ? row.endpoint : "", 10),
        pad(server, 9),
        pad(num(r.rps), 8),
        pad(num(r.p50, 2), 7),
        pad(num(r.p99, 2), 7),
        pad(String(r.errors), 7),
        pad(num(r.cpuMsPerRequest, 3), 10),
        pad(`${num(r.rss)} (peak ${num(r.peakRss)})`, 15),
        ...rest,
      ].join(" "));
    line("baseline", b, []);
    line(row.endpoint === "dbfloor" ? "db floor" : "app", a, [
      pad(`${num(ratio * 100)}%`, 8),
      pad(a.heap ? `${num(a.heap.used)}/${num(a.heap.total)}` : "", 9),
      checks.length
        ? checks.map(([label, ok]) => `${label} ${ok ? "✓" : "✗"}`).join("  ")
        : "(reference, no target)",
    ]);
  }
  console.log(
    `\napp RSS when ready (before any load): ${num(idle.rss)} MB.` +
      ` Portal calls during the load: ${portalCalls} (frame auth cached: expected 0).` +
      ` App log error lines: ${appLog.errors}${appLog.sample ? ` (first: ${appLog.sample})` : ""}`,
  );
  console.log(missed === 0 ? "all targets met" : `${missed} target(s) missed`);
  if (opts.json) {
    await Deno.writeTextFile(
      opts.json,
      JSON.stringify(
        { machine: info, database: db.kind, opts, idleRss: idle.rss, rows, portalCalls, appLog },
        null,
        2,
      ),
    );
  }
}

/** One server's figures under one request shape. */
interface Measured {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Socket errors (connect, read, write, timeout) plus responses with status ≥ 400. */
  errors: number;
  wrk: WrkResult;
  /** Server CPU time (user + system) per request. */
  cpuMsPerRequest: number;
  rss: number;
  peakRss: number;
  /** The app's V8 heap (total, used) after the run, MiB, from its /metrics. */
  heap?: { total: number; used: number };
}

interface Row {
  endpoint: string;
  what: string;
  baseline: Measured;
  app: Measured;
}

async function measure(server: Server, shape: Shape, dir: string): Promise<Measured> {
  const cpuBefore = await cpuMsOf(server.pid);
  const r = await wrk(server.url, shape, opts.duration, dir);
  const cpuMs = await cpuMsOf(server.pid) - cpuBefore;
  const mem = await memoryOf(server.pid);
  return {
    rps: r.requests / (r.duration_us / 1e6),
    p50: r.p50_us / 1000,
    p90: r.p90_us / 1000,
    p99: r.p99_us / 1000,
    max: r.max_us / 1000,
    errors: r.connect + r.read + r.write + r.status + r.timeout,
    wrk: r,
    cpuMsPerRequest: cpuMs / Math.max(1, r.requests),
    rss: mem.rss,
    peakRss: mem.peak,
  };
}

if (import.meta.main) await main();
