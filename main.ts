/**
 * Starts the app: parses the config once, opens the services, serves HTTP, and shuts down
 * cleanly on SIGINT/SIGTERM.
 *
 * @module
 */
import { ConfigError, loadConfig } from "./lib/server/config.ts";
import { openServices } from "./lib/server/services.ts";
import { createApp } from "./app.ts";
import { log } from "./lib/server/log.ts";

let config, services;
try {
  config = await loadConfig();
  log.setLevel(config.LOG_LEVEL);
  services = await openServices(config);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(err.message);
  Deno.exit(1);
}
services.bitrix.callSync.start();
services.migrated
  .then(() => {
    services.retention.start();
    return services.bitrix.uninstaller.resume();
  })
  .catch((error) => log.error("resuming pending uninstalls failed", { error }));
const server = Deno.serve({
  hostname: config.HOST,
  port: config.PORT,
  onListen: ({ hostname, port }) =>
    log.info("listening", { url: `http://${hostname}:${port}`, base: config.APP_BASE_URL }),
}, createApp(services).fetch);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, async () => {
    log.info("shutting down", { signal });
    await server.shutdown();
    await services.close();
    Deno.exit(0);
  });
}
