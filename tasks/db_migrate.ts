/**
 * Applies pending migrations to the configured database and exits (for deployments that
 * migrate out of band, such as Deno Deploy).
 *
 * @module
 */
import { loadConfig } from "../lib/server/config.ts";
import { openSecrets, resolveDatabaseUrl } from "../lib/server/services.ts";
import { openDatabase } from "../lib/server/db/client.ts";
import { log } from "../lib/server/log.ts";

const config = await loadConfig();
const secrets = await openSecrets(config);
const database = await openDatabase(await resolveDatabaseUrl(config, secrets));
try {
  await database.migrate();
  log.info("migrations applied", { engine: database.engine });
} finally {
  await database.close();
  await secrets.close();
}
