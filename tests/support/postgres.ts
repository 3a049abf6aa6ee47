/**
 * A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, started on a
 * free port on 127.0.0.1 as the `postgres` user, stoppable and restartable (for outage tests).
 *
 * @module
 */
import { findBinary, requireService } from "./services.ts";
import { freePort } from "./ports.ts";
import { run } from "./process.ts";

function pgBinDir(): string | undefined {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort();
    for (const v of versions.reverse()) {
      if (findBinary([`/usr/lib/postgresql/${v}/bin/pg_ctl`])) {
        return `/usr/lib/postgresql/${v}/bin`;
      }
    }
  } catch {
    // no server packages
  }
  return undefined;
}

const BIN = pgBinDir();

/** Runs `args` as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
function asPostgresUser(args: string[]): [string, string[]] {
  if (Deno.uid() !== 0) return [args[0], args.slice(1)];
  return ["runuser", ["-u", "postgres", "--", ...args]];
}

/** `ignore` flag for tests that need a PostgreSQL server. */
export const noPostgres: boolean = requireService(
  "PostgreSQL",
  BIN !== undefined,
  "apt-get install postgresql",
);

/** A running test server; disposing it is `close()`. */
export interface TestPostgres extends AsyncDisposable {
  /** `postgres://app@127.0.0.1:<port>/app` */
  url: string;
  /** Stops the server (fast shutdown); `start()` brings it back on the same port and data. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data. */
  close(): Promise<void>;
}

/** Creates, starts and returns a PostgreSQL server with database `app` owned by user `app`. */
export async function startPostgres(): Promise<TestPostgres> {
  if (!BIN) throw new Error("PostgreSQL is not installed");
  const dir = await Deno.makeTempDir({ prefix: "pg-test-" });
  await Deno.chmod(dir, 0o777);
  if (Deno.uid() === 0) await run("chown", ["postgres", dir]);
  const data = `${dir}/data`;
  const port = freePort();
  const pg = (args: string[]) => run(...asPostgresUser(args));
  await pg([`${BIN}/initdb`, "-D", data, "-U", "app", "--auth=trust", "--no-sync", "-E", "UTF8"]);
  const start = () =>
    pg([
      `${BIN}/pg_ctl`,
      "-D",
      data,
      "-o",
      `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=200`,
      "-l",
      `${dir}/log`,
      "-w",
      "start",
    ]).then(() => {});
  const stop = () => pg([`${BIN}/pg_ctl`, "-D", data, "-m", "fast", "-w", "stop"]).then(() => {});
  await start();
  const close = async () => {
    await stop().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  await pg([`${BIN}/createdb`, "-h", "127.0.0.1", "-p", String(port), "-U", "app", "app"]);
  return {
    url: `postgres://app@127.0.0.1:${port}/app`,
    stop,
    start,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * A server when PostgreSQL is installed, else undefined (the test then runs on PGlite alone):
 * `await using pg = await startPostgresIfInstalled();` and `DATABASE_URL: pg?.url`.
 */
export function startPostgresIfInstalled(): Promise<TestPostgres | undefined> {
  return noPostgres ? Promise.resolve(undefined) : startPostgres();
}
