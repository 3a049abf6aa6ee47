/**
 * How tests treat system services (PostgreSQL, Kamailio, Chromium, nginx): on a developer's
 * machine a missing one skips its tests with a clear line; in CI (`CI=true`) it is a failure.
 *
 * @module
 */

/** True in CI, where every service must be present. */
export const IN_CI = ["true", "1"].includes(Deno.env.get("CI") ?? "");

/** Finds the first existing path among `candidates`. */
export function findBinary(candidates: string[]): string | undefined {
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * Returns `ignore` for `Deno.test`: false when the service is present; true (with a printed
 * reason) when absent on a developer machine; throws when absent in CI.
 */
export function requireService(name: string, present: boolean, hint: string): boolean {
  if (present) return false;
  const message = `${name} is not available (${hint})`;
  if (IN_CI) throw new Error(`CI=true: ${message}`);
  console.warn(`skipping tests that need ${message}`);
  return true;
}

/**
 * A free TCP port on 127.0.0.1, picked at random below Linux's ephemeral range (32768+), so a
 * server of a parallel test that binds port 0 cannot be handed it before we bind it.
 */
export function freePort(): number {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
}

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  return text(out.stdout);
}

/** Runs `args` as the `postgres` user when we are root (PostgreSQL refuses to run as root). */
export function asPostgresUser(args: string[]): [string, string[]] {
  if (Deno.uid() !== 0) return [args[0], args.slice(1)];
  return ["runuser", ["-u", "postgres", "--", ...args]];
}

/** Stops a child process: SIGTERM, SIGKILL after `graceMs`; resolves when `status` settles. */
export async function stopProcess<T>(
  child: Deno.ChildProcess,
  status: Promise<T>,
  graceMs = 5000,
): Promise<T> {
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  };
  kill("SIGTERM");
  const timer = setTimeout(() => kill("SIGKILL"), graceMs);
  try {
    return await status;
  } finally {
    clearTimeout(timer);
  }
}
