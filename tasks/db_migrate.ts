/**
 * Applies pending migrations to the configured database and exits (for deployments that
 * migrate out of band, such as Deno Deploy).
 *
 * @module
 */
import { loadConfig } from "../lib/config.ts";
import { openSecrets, resolveDatabaseUrl } from "../lib/services.ts";
import { openDatabase } from "../lib/db/client.ts";
import { log } from "../lib/log.ts";

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
