/**
 * The real app for HTTP tests, on an in-memory PGlite (or the `DATABASE_URL` given) and local
 * secrets with a fresh key: in process, where requests go straight to the app's `fetch` (no
 * socket, no port), or on a free loopback port for tests that need a real connection (a portal
 * emulator calling back, a proxy in front, a browser).
 *
 * @example
 * ```ts
 * await using app = await openTestApp();
 * const res = await app.request("/api/calls", { method: "POST", json: { event: "x" } });
 * ```
 *
 * @module
 */
import { parseConfig } from "../../lib/server/config.ts";
import { openServices, type Services } from "../../lib/server/services.ts";
import { createApp } from "../../app.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { log } from "../../lib/server/log.ts";
import "./logs.ts";

/** Options of the services (timings, a secrets provider) as `openServices` takes them. */
export type TestServiceOptions = Parameters<typeof openServices>[1];

/** A request to the in-process app: `fetch`'s options, plus `json` for a JSON body. */
export interface TestRequestInit extends RequestInit {
  /** Sent as the JSON body, with `content-type: application/json`. */
  json?: unknown;
}

/** The app without a socket. */
export interface InProcessApp extends AsyncDisposable {
  services: Services;
  /**
   * Answers `path` (with its query string) as the app would answer a loopback client over HTTP
   * at `http://127.0.0.1`.
   */
  request(path: string, init?: TestRequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A running app on a loopback port. */
export interface TestApp extends AsyncDisposable {
  url: string;
  services: Services;
  close(): Promise<void>;
}

/** What `Deno.serve` hands the handler for a loopback client (read for the peer address). */
const LOOPBACK_CLIENT: Deno.ServeHandlerInfo<Deno.NetAddr> = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 },
  completed: Promise.resolve(),
};

async function openTestServices(
  env: Record<string, string>,
  opts: TestServiceOptions,
): Promise<Services> {
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
  return services;
}

/** Opens the app in process with `env` over test defaults; waits until migrations are applied. */
export async function openTestApp(
  env: Record<string, string> = {},
  opts: TestServiceOptions = {},
): Promise<InProcessApp> {
  const services = await openTestServices(env, opts);
  const app = createApp(services);
  const close = () => services.close();
  return {
    services,
    request(path, { json, ...init } = {}) {
      const headers = new Headers(init.headers);
      if (json !== undefined && !headers.has("content-type")) {
        headers.set("content-type", "application/json");
      }
      const body = json === undefined ? init.body : JSON.stringify(json);
      const request = new Request(new URL(path, "http://127.0.0.1"), { ...init, headers, body });
      return Promise.resolve(app.fetch(request, LOOPBACK_CLIENT));
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Starts the app on a loopback port with `env` over test defaults (`PORT` to fix the port). */
export async function startTestApp(
  env: Record<string, string> = {},
  opts: TestServiceOptions = {},
): Promise<TestApp> {
  const services = await openTestServices(env, opts);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: env.PORT ? services.config.PORT : 0, onListen: () => {} },
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
