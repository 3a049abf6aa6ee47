/**
 * Child processes of tests: run a command to its end, or stop a long-running one. Their output
 * is piped, never inherited, so a passing test prints nothing of theirs.
 *
 * @module
 */

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[], opts: { cwd?: string } = {}) {
  const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  if (out.code !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${text(out.stderr)}`);
  return text(out.stdout);
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
