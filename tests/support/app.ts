/**
 * Starts the real app on a free loopback port for HTTP tests, on an in-memory PGlite (or the
 * `DATABASE_URL` given) and local secrets with a fresh key.
 *
 * @module
 */
import { parseConfig } from "../../lib/server/config.ts";
import { openServices, type Services } from "../../lib/server/services.ts";
import { createApp } from "../../app.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { log } from "../../lib/server/log.ts";
import "./logs.ts";

/** A running app. */
export interface TestApp extends AsyncDisposable {
  url: string;
  services: Services;
  close(): Promise<void>;
}

/** Starts the app with `env` over test defaults; waits until migrations are applied. */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: Parameters<typeof openServices>[1] = {},
): Promise<TestApp> {
  const config = parseConfig({
    DATABASE_URL: "pglite:memory",
    ENCRYPTION_KEY: generateKey(),
    LOG_LEVEL: "warn",
    BITRIX_ALLOW_INSECURE_PORTALS: "true",
    ...env,
  });
  log.setLevel(config.LOG_LEVEL);
  const services = await openServices(config, opts);
  await services.migrated;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: env.PORT ? config.PORT : 0, onListen: () => {} },
    createApp(services).fetch,
  );
  const close = async () => {
    await server.shutdown();
    await services.close();
  };
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    services,
    close,
    [Symbol.asyncDispose]: close,
  };
}
