/**
 * Opens the database: PostgreSQL through postgres.js (`postgres://…`) or embedded PGlite
 * (`pglite:<dir>`, `pglite:memory`), with one drizzle schema and one migrations folder.
 *
 * @module
 */
import { drizzle as drizzlePostgres, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema.ts";

/** The drizzle database type shared by both drivers. */
export type Db = PostgresJsDatabase<typeof schema>;

/** An open database with the operations the app needs beyond queries. */
export interface Database {
  db: Db;
  /** `postgres` or `pglite`. */
  readonly engine: "postgres" | "pglite";
  /** Applies pending migrations from `drizzle/`. */
  migrate(): Promise<void>;
  /** Cheap liveness query; throws when the database is unreachable. */
  ping(timeoutMs?: number): Promise<void>;
  /**
   * Runs `fn` while holding a lock named `key` across every process sharing the database
   * (a PostgreSQL session advisory lock; in-process for PGlite, which has one process).
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * `LISTEN channel`: `onPayload` gets every `NOTIFY` payload (from any process sharing the
   * database; `pg_notify` in a transaction is delivered at commit). PostgreSQL: one dedicated
   * connection of postgres.js, re-established after a loss; `onListen` runs each time the
   * listen is in place (first and after every reconnect: notifications sent in between are
   * lost, the caller catches up). PGlite: in this process, `onListen` once. Resolves to the
   * unlisten.
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListen?: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

const migrationsFolder = new URL("../../../drizzle", import.meta.url).pathname;

/** Opens `url` (`postgres://…`, `pglite:<dir>` or `pglite:memory`). */
export async function openDatabase(
  url: string,
  opts: { poolSize?: number } = {},
): Promise<Database> {
  if (url.startsWith("pglite:")) return await openPglite(url.slice("pglite:".length));
  return openPostgres(url, opts.poolSize ?? 10);
}

function openPostgres(url: string, poolSize: number): Database {
  const client = postgres(url, {
    max: poolSize,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 60,
    // Reconnect quickly after an outage (the default backoff grows to 20 s).
    backoff: (retries: number) => Math.min(0.1 * 2 ** retries, 2),
    connection: { application_name: "b24-sip-phone" },
  });
  const db = drizzlePostgres({ client, schema });
  return {
    db,
    engine: "postgres",
    migrate: () => migratePostgres(db, { migrationsFolder }),
    ping: (timeoutMs = 2000) => withTimeout(client`select 1`.then(() => {}), timeoutMs),
    async withLock(key, fn) {
      const conn = await client.reserve();
      try {
        await conn`select pg_advisory_lock(hashtext(${key}))`;
        try {
          return await fn();
        } finally {
          await conn`select pg_advisory_unlock(hashtext(${key}))`;
        }
      } finally {
        conn.release();
      }
    },
    async listen(channel, onPayload, onListen) {
      const { unlisten } = await client.listen(channel, onPayload, onListen);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

/**
 * PostgreSQL settings inside PGlite, for a small resident size: PGlite runs in this process's
 * memory, and its defaults (128 MB of shared buffers, touched at start) took most of the
 * embedded app's 394 MB. The app's working set is small (a portal's recent calls); reads past
 * the buffers come from the operating system's page cache. PostgreSQL servers are not
 * affected (their settings are the server's).
 */
export const PGLITE_SETTINGS = {
  shared_buffers: "8MB",
  wal_buffers: "1MB",
  temp_buffers: "1MB",
  maintenance_work_mem: "16MB",
};

/** {@link PGLITE_SETTINGS} as PGlite options (the data directory's own `initdb` gets them too). */
export const pgliteOptions = {
  postgresqlconf: Object.entries(PGLITE_SETTINGS).map(([name, value]) => `${name}=${value}`),
  initDbStartParams: Object.entries(PGLITE_SETTINGS).flatMap(([name, value]) => [
    "--set",
    `${name}=${value}`,
  ]),
};

/** PGlite and its drizzle driver are loaded only when used (a PostgreSQL process never needs them). */
async function openPglite(location: string): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import("@electric-sql/pglite"),
    import("drizzle-orm/pglite"),
    import("drizzle-orm/pglite/migrator"),
  ]);
  if (location !== "memory") await initPgliteDir(location);
  const client = location === "memory"
    ? new PGlite(pgliteOptions)
    : new PGlite(location, pgliteOptions);
  await client.waitReady;
  const db = drizzlePglite({ client, schema });
  const locks = new Map<string, Promise<unknown>>();
  return {
    db: db as unknown as Db,
    engine: "pglite",
    migrate: () => migratePglite(db, { migrationsFolder }),
    ping: async (timeoutMs = 2000) => {
      await withTimeout(client.query("select 1").then(() => {}), timeoutMs);
    },
    async withLock(key, fn) {
      const previous = locks.get(key) ?? Promise.resolve();
      const run = previous.catch(() => {}).then(fn);
      locks.set(key, run);
      try {
        return await run;
      } finally {
        if (locks.get(key) === run) locks.delete(key);
      }
    },
    async listen(channel, onPayload, onListen) {
      const unlisten = await client.listen(channel, onPayload);
      onListen?.();
      return () => unlisten();
    },
    close: () => client.close(),
  };
}

/**
 * Creates a new PGlite data directory in a worker that is ended afterwards: `initdb` runs two
 * more PGlite instances beside the one that opens the directory, and their memory (some
 * 400 MB) would otherwise stay in this process until a garbage collection that may never come.
 */
async function initPgliteDir(location: string): Promise<void> {
  try {
    await Deno.stat(`${location}/PG_VERSION`);
    return;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const worker = new Worker(new URL("./pglite_init_worker.ts", import.meta.url), {
    type: "module",
  });
  try {
    const done = Promise.withResolvers<void>();
    worker.onmessage = (event: MessageEvent<{ error?: string }>) =>
      event.data.error ? done.reject(new Error(event.data.error)) : done.resolve();
    worker.onerror = (event) => {
      event.preventDefault();
      done.reject(new Error(`creating the PGlite database failed: ${event.message}`));
    };
    worker.postMessage({ location, options: pgliteOptions });
    await done.promise;
  } finally {
    worker.terminate();
  }
}

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "08000",
  "08001",
  "08003",
  "08006",
]);

/** Whether `err` (or its cause) says the database cannot be reached right now. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && UNAVAILABLE_CODES.has(code)) return true;
  }
  return false;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
