/**
 * Starts the test Kamailio (tests/kamailio/kamailio.cfg) on 127.0.0.1 with a free WebSocket
 * port and a runtime directory under a temporary directory, and stops it again.
 *
 * @example
 * ```ts
 * await using kam = await startKamailio();
 * // ws URL for SIP.js: kam.wsUrl; registrations: await kam.contacts("alice")
 * ```
 *
 * @module
 */

import { freePort, waitForPort } from "../support/ports.ts";
import { stopProcess } from "../support/process.ts";
import { sleep } from "../support/wait.ts";

const CONFIG = new URL("./kamailio.cfg", import.meta.url).pathname;

/** Where the binaries are looked up (Debian packages `kamailio`, `kamailio-websocket-modules`). */
export const KAMAILIO_BIN = Deno.env.get("KAMAILIO") ?? "/usr/sbin/kamailio";
/** Kamailio's command-line control tool (comes with the `kamailio` package). */
export const KAMCMD_BIN = Deno.env.get("KAMCMD") ?? "/usr/sbin/kamcmd";

/** The SIP domain the test config serves. */
export const SIP_DOMAIN = "test.local";
/** The digest password every user of the test config has. */
export const SIP_PASSWORD = "secret";

/** True when the Kamailio binaries and the WebSocket module are installed. */
export function kamailioAvailable(): boolean {
  try {
    Deno.statSync(KAMAILIO_BIN);
    Deno.statSync(KAMCMD_BIN);
    Deno.statSync("/usr/lib/x86_64-linux-gnu/kamailio/modules/websocket.so");
    return true;
  } catch {
    return false;
  }
}

/** A running Kamailio; `stop()` (or `await using`) kills it and removes its directory. */
export interface KamailioServer extends AsyncDisposable {
  /** `ws://127.0.0.1:<port>` for SIP.js. */
  readonly wsUrl: string;
  /** The WebSocket port (kept across restarts). */
  readonly port: number;
  /** The temporary directory: control socket, pid file, `kamailio.log`. */
  readonly dir: string;
  /** Number of registered contacts of a user (`kamcmd ul.dump`). */
  contacts(user: string): Promise<number>;
  /** Raw `kamcmd` output. */
  kamcmd(...args: string[]): Promise<string>;
  /** Kills and starts again on the same port (registrations are lost: in-memory usrloc). */
  restart(): Promise<void>;
  /** The log so far (stderr of Kamailio). */
  log(): string;
  stop(): Promise<void>;
}

/** Options for {@link startKamailio}. */
export interface StartKamailioOptions {
  /** Fixed port instead of a free one. */
  port?: number;
  /** Shared memory in MB. @defaultValue 32 */
  sharedMemMb?: number;
}

/** Starts Kamailio; throws with the log tail when it does not come up. */
export async function startKamailio(options: StartKamailioOptions = {}): Promise<KamailioServer> {
  const dir = await Deno.makeTempDir({ prefix: "kamailio-test-" });
  const ctl = `unix:${dir}/kamailio_ctl`;
  let port = options.port ?? freePort();
  let child: Deno.ChildProcess | undefined;
  let exited = false;
  let logText = "";
  const decoder = new TextDecoder();

  const spawn = async (): Promise<void> => {
    exited = false;
    child = new Deno.Command(KAMAILIO_BIN, {
      args: [
        "-f",
        CONFIG,
        "-DD",
        "-E",
        "-m",
        String(options.sharedMemMb ?? 32),
        "-M",
        "8",
        "-Y",
        dir,
        "-P",
        `${dir}/kamailio.pid`,
        "-w",
        dir,
        "-A",
        `WS_PORT=${port}`,
        "-A",
        `CTL_SOCKET="${ctl}"`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const current = child;
    const pump = async (stream: ReadableStream<Uint8Array>) => {
      for await (const chunk of stream) {
        logText += decoder.decode(chunk);
        if (logText.length > 2_000_000) logText = logText.slice(-1_000_000);
      }
    };
    pump(current.stdout).catch(() => {});
    pump(current.stderr).catch(() => {});
    current.status.then(() => {
      if (child === current) exited = true;
    });
    await waitForPort("kamailio", port, { exited: () => exited });
  };

  const kill = async (): Promise<void> => {
    const c = child;
    if (!c) return;
    child = undefined;
    await stopProcess(c, c.status, 3000);
  };

  for (let attempt = 0;; attempt++) {
    try {
      await spawn();
      break;
    } catch (e) {
      await kill();
      if (attempt >= 2 || options.port) {
        await Deno.remove(dir, { recursive: true }).catch(() => {});
        throw new Error(`${(e as Error).message}\n--- kamailio log ---\n${logText.slice(-3000)}`);
      }
      port = freePort();
    }
  }

  const kamcmd = async (...args: string[]): Promise<string> => {
    const out = await new Deno.Command(KAMCMD_BIN, { args: ["-s", ctl, ...args] }).output();
    if (out.code !== 0) throw new Error(`kamcmd ${args.join(" ")}: ${decoder.decode(out.stderr)}`);
    return decoder.decode(out.stdout);
  };

  const server: KamailioServer = {
    get wsUrl() {
      return `ws://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    dir,
    kamcmd,
    async contacts(user: string): Promise<number> {
      const dump = await kamcmd("ul.dump");
      const re = new RegExp(`AoR: ${user}(?:@\\S+)?\\n([\\s\\S]*?)(?=\\n\\s*AoR:|$)`);
      const block = dump.match(re)?.[1] ?? "";
      return (block.match(/Address:/g) ?? []).length;
    },
    async restart() {
      await kill();
      // The port was just released by the dying process; give the kernel a moment.
      for (let attempt = 0;; attempt++) {
        try {
          await spawn();
          return;
        } catch (e) {
          await kill();
          if (attempt >= 20) throw e;
          await sleep(250);
        }
      }
    },
    log: () => logText,
    async stop() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
    [Symbol.asyncDispose]() {
      return this.stop();
    },
  };
  return server;
}
