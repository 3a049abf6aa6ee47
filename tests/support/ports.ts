/**
 * Loopback ports for servers that tests start: a free one to bind, and a wait until a process
 * listens on one.
 *
 * @module
 */
import { waitFor } from "./wait.ts";

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

/** Options for {@link waitForPort}. */
export interface WaitForPortOptions {
  /** Gives up after this long. @defaultValue 10_000 */
  timeoutMs?: number;
  /** True once the process that should listen has exited: stops waiting at once. */
  exited?: () => boolean;
}

/** Resolves once a TCP connection to `127.0.0.1:port` succeeds; throws on timeout or exit. */
export async function waitForPort(
  what: string,
  port: number,
  { timeoutMs = 10_000, exited = () => false }: WaitForPortOptions = {},
): Promise<void> {
  let gone = false;
  await waitFor(`${what} to listen on ${port}`, async () => {
    if (exited()) return gone = true;
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  }, { timeoutMs });
  if (gone) throw new Error(`${what} exited before it listened on ${port}`);
}
