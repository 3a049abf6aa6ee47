/**
 * Runs database tests against both engines: embedded PGlite (in memory) and a real PostgreSQL
 * server started for the test file.
 *
 * @module
 */
import { type Database, openDatabase } from "../../lib/server/db/client.ts";
import { noPostgres, startPostgres } from "./postgres.ts";
import { generateKey, SecretBox } from "../../lib/server/secrets/crypto.ts";

/** A migrated database and a secret box with a fresh key. */
export interface TestDb {
  database: Database;
  box: SecretBox;
}

/** A fresh secret box with one random key. */
export function testBox(): SecretBox {
  return SecretBox.fromKeyRing({ active: "1", keys: { "1": generateKey() } });
}

/**
 * Registers `Deno.test(name [engine])` for PGlite and PostgreSQL; each gets its own migrated
 * database.
 */
export function testBothEngines(name: string, fn: (t: TestDb) => Promise<void>): void {
  Deno.test({
    name: `${name} [pglite]`,
    async fn() {
      const database = await openDatabase("pglite:memory");
      try {
        await database.migrate();
        await fn({ database, box: testBox() });
      } finally {
        await database.close();
      }
    },
  });
  Deno.test({
    name: `${name} [postgres]`,
    ignore: noPostgres,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const pg = await startPostgres();
      const database = await openDatabase(pg.url);
      try {
        await database.migrate();
        await fn({ database, box: testBox() });
      } finally {
        await database.close();
        await pg.close();
      }
    },
  });
}
