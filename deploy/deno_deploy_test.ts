/**
 * The app as Deno Deploy runs it: no filesystem writes at all (the process gets no write
 * permission), an external PostgreSQL, the key from `ENCRYPTION_KEY`, migrations applied out
 * of band by `tasks/db_migrate.ts` (`deno task db:migrate`), not at start.
 *
 * @module
 */
import { assertEquals } from "../tests/support/assert.ts";
import { noPostgres, startPostgres } from "../tests/support/postgres.ts";
import { freePort } from "../tests/support/ports.ts";
import { waitUntilReady } from "../tests/support/http.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { parseConfig } from "../lib/server/config.ts";
import { openServices } from "../lib/server/services.ts";
import { SseReader } from "../tests/support/sse.ts";

/**
 * The push stream of the deployed instance gets a message another instance (this process, on
 * the same PostgreSQL) publishes: LISTEN/NOTIFY works in the Deploy shape.
 */
async function pushReachesDeployedInstance(url: string, env: Record<string, string>) {
  const other = await openServices(parseConfig({ ...env, LOG_LEVEL: "error" }));
  try {
    const { portal } = await other.portals.upsertInstall({
      memberId: "m-deploy",
      domain: "acme.bitrix24.ru",
      clientEndpoint: "https://acme.bitrix24.ru/rest/",
      tokens: { accessToken: "a", refreshToken: "r", expiresAt: new Date(Date.now() + 3600e3) },
      installedByUserId: 1,
    });
    const ticket = await other.push.issueTicket(portal.id, 7);
    const res = await fetch(`${url}/api/push/stream?ticket=${ticket}`);
    assertEquals(res.status, 200);
    const reader = new SseReader(res.body!);
    await reader.next(); // retry: the stream is open
    const deadline = Date.now() + 10_000;
    let delivered = false;
    // The deployed instance listens once its hub has started: publish until it hears.
    while (!delivered && Date.now() < deadline) {
      await other.push.publish(portal.id, 7, "note", { from: "another instance" });
      delivered = await reader.nextEvent(1000).then(() => true, () => false);
    }
    assertEquals(delivered, true, "the message reached the deployed instance's stream");
    await reader.cancel();
  } finally {
    await other.close();
  }
}

const root = new URL("../", import.meta.url).pathname;

/** `deno run` without `--allow-write`: any attempt to write a file fails the process. */
function denoRun(script: string, cwd: string, env: Record<string, string>) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-env", "--allow-sys", "--allow-read", `${root}${script}`],
    cwd,
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
}

Deno.test({
  name: "[deploy] Deno Deploy shape: external PostgreSQL, ENCRYPTION_KEY, nothing written",
  ignore: noPostgres,
  async fn() {
    const pg = await startPostgres();
    const cwd = await Deno.makeTempDir({ prefix: "deno-deploy-" });
    try {
      const port = freePort();
      const env = {
        DATABASE_URL: pg.url,
        ENCRYPTION_KEY: generateKey(),
        MIGRATE_ON_START: "false",
        HOST: "127.0.0.1",
        PORT: String(port),
        LOG_LEVEL: "warn",
      };
      const migrate = await denoRun("tasks/db_migrate.ts", cwd, env).output();
      assertEquals(migrate.code, 0, new TextDecoder().decode(migrate.stderr));

      const app = denoRun("main.ts", cwd, env).spawn();
      const stderr = new Response(app.stderr).text();
      await app.stdout.cancel();
      try {
        await waitUntilReady(`http://127.0.0.1:${port}`, { timeoutMs: 20_000, intervalMs: 100 });
        await pushReachesDeployedInstance(`http://127.0.0.1:${port}`, env);
      } finally {
        app.kill("SIGTERM");
        await app.status;
      }
      assertEquals(await stderr, "", "no permission errors, no warnings");
      assertEquals([...Deno.readDirSync(cwd)], [], "no key file, no data directory");
    } finally {
      await Deno.remove(cwd, { recursive: true });
      await pg.close();
    }
  },
});
