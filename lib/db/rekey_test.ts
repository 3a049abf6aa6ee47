import { eq, getTableColumns, getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { testBothEngines } from "../../tests/support/db.ts";
import { generateKey, SecretBox } from "../secrets/crypto.ts";
import type { KeyRing } from "../secrets/provider.ts";
import type { Database } from "./client.ts";
import { PortalRepo } from "./portals.ts";
import { SipAccountRepo } from "./sip_accounts.ts";
import * as schema from "./schema.ts";
import { countByKey, keyIdsInUse, type RekeyBox, rekeyDatabase, SEALED_COLUMNS } from "./rekey.ts";

const key1 = generateKey();
const key2 = generateKey();
const ringOld: KeyRing = { active: "1", keys: { "1": key1 } };
const ringNew: KeyRing = { active: "2", keys: { "1": key1, "2": key2 } };

/** Three portals (tokens + local app secret) and their SIP accounts, one without a password. */
async function seed(database: Database, box: SecretBox) {
  const portals = new PortalRepo(database.db, box);
  const accounts = new SipAccountRepo(database.db, box);
  const ids: string[] = [];
  for (const n of [1, 2, 3]) {
    const { portal } = await portals.upsertInstall({
      memberId: `m-${n}`,
      domain: `p${n}.bitrix24.ru`,
      clientEndpoint: `https://p${n}.bitrix24.ru/rest/`,
      tokens: {
        accessToken: `access-${n}`,
        refreshToken: `refresh-${n}`,
        expiresAt: new Date(Date.now() + 3600_000),
      },
    });
    await portals.saveLocalCredentials(portal.id, `local.${n}`, `client-secret-${n}`);
    await accounts.upsert(portal.id, 10, {
      wsUrl: "wss://pbx.example/ws",
      sipUri: `sip:10@p${n}.example`,
      authUser: "10",
      password: `sip-password-${n}`,
    });
    await accounts.upsert(portal.id, 11, {
      wsUrl: "wss://pbx.example/ws",
      sipUri: `sip:11@p${n}.example`,
      authUser: "11",
      password: "",
    });
    ids.push(portal.id);
  }
  return ids;
}

/** Reads every secret back through the repositories with `box`. */
async function readAll(database: Database, box: SecretBox, ids: string[]) {
  const portals = new PortalRepo(database.db, box);
  const accounts = new SipAccountRepo(database.db, box);
  const out: string[] = [];
  for (const id of ids) {
    const tokens = await portals.getTokens(id);
    const local = await portals.getLocalCredentials(id);
    const sip = await accounts.getWithPassword(id, 10);
    const none = await accounts.getWithPassword(id, 11);
    out.push(
      `${tokens?.accessToken}|${tokens?.refreshToken}|${local?.clientSecret}|${sip?.password}|${none?.password}`,
    );
  }
  return out;
}

const expected = [1, 2, 3].map((n) =>
  `access-${n}|refresh-${n}|client-secret-${n}|sip-password-${n}|`
);

testBothEngines(
  "[rekey] every sealed column moves to the active key, same AAD, idempotent",
  async ({ database }) => {
    const ids = await seed(database, await SecretBox.fromKeyRing(ringOld));
    assertEquals(await keyIdsInUse(database), new Set(["1"]));

    const batches: number[] = [];
    const result = await rekeyDatabase(database, await SecretBox.fromKeyRing(ringNew), {
      batchSize: 2,
      onBatch: ({ rewritten }) => batches.push(rewritten),
    });
    assertEquals(result, { activeKeyId: "2", rewritten: 12, changedMeanwhile: 0, failures: [] });
    assertEquals(batches, [2, 1, 2, 1, 2, 1, 2, 1], "batches of 2 per column");
    assertEquals(await countByKey(database), {
      "portals.access_token": { "2": 3 },
      "portals.refresh_token": { "2": 3 },
      "portals.client_secret": { "2": 3 },
      "sip_accounts.password": { "2": 3 },
    });
    // The old key is no longer needed: a ring with only the new key opens everything.
    const onlyNew = await SecretBox.fromKeyRing({ active: "2", keys: { "2": key2 } });
    assertEquals(await readAll(database, onlyNew, ids), expected);

    const again = await rekeyDatabase(database, await SecretBox.fromKeyRing(ringNew));
    assertEquals(again.rewritten, 0, "nothing left to do");
  },
);

testBothEngines(
  "[rekey] an interrupted run is finished by the next one",
  async ({ database }) => {
    const ids = await seed(database, await SecretBox.fromKeyRing(ringOld));
    const box = await SecretBox.fromKeyRing(ringNew);
    let batches = 0;
    await assertRejects(
      () =>
        rekeyDatabase(database, box, {
          batchSize: 2,
          onBatch: () => {
            if (++batches === 3) throw new Error("killed");
          },
        }),
      Error,
      "killed",
    );
    const partial = await countByKey(database);
    assertEquals(partial["portals.access_token"], { "2": 3 });
    assertEquals(partial["portals.refresh_token"], { "1": 1, "2": 2 }, "killed after 3 batches");
    const rest = await rekeyDatabase(database, box, { batchSize: 2 });
    assertEquals(rest.rewritten, 12 - 5);
    assertEquals(await keyIdsInUse(database), new Set(["2"]));
    assertEquals(await readAll(database, box, ids), expected);
  },
);

testBothEngines(
  "[rekey] values that do not open are reported and left; concurrent writes win",
  async ({ database }) => {
    const ids = await seed(database, await SecretBox.fromKeyRing(ringOld));
    // One value sealed with a key the ring does not have.
    const stray = await SecretBox.fromKeyRing({ active: "9", keys: { "9": generateKey() } });
    await new SipAccountRepo(database.db, stray).upsert(ids[1], 10, {
      wsUrl: "wss://pbx.example/ws",
      sipUri: "sip:10@p2.example",
      authUser: "10",
      password: "unknown-key",
    });
    // The app saves fresh tokens for portal 1 while the rotation is between read and write.
    const box = await SecretBox.fromKeyRing(ringNew);
    const app = new PortalRepo(database.db, await SecretBox.fromKeyRing(ringOld));
    let raced = false;
    const racingBox: RekeyBox = {
      activeKeyId: box.activeKeyId,
      open: (sealed, additionalData) => box.open(sealed, additionalData),
      async seal(plaintext, additionalData) {
        if (!raced && plaintext === "access-1") {
          raced = true;
          await app.saveTokens(ids[0], {
            accessToken: "access-1b",
            refreshToken: "refresh-1b",
            expiresAt: new Date(Date.now() + 3600_000),
          });
        }
        return await box.seal(plaintext, additionalData);
      },
    };
    const result = await rekeyDatabase(database, racingBox);
    assertEquals(result.changedMeanwhile, 1, "the app's newer access token is kept");
    assertEquals(result.failures.length, 1);
    const [failure] = result.failures;
    assertEquals([failure.table, failure.field, failure.keyId], ["sip_accounts", "password", "9"]);
    const [row] = await database.db.select({ value: schema.sipAccounts.passwordEnc })
      .from(schema.sipAccounts).where(eq(schema.sipAccounts.id, failure.rowId));
    assert(row.value.startsWith("v1:9:"), "the failed value is untouched");
    assertEquals(
      (await new PortalRepo(database.db, box).getTokens(ids[0]))?.accessToken,
      "access-1b",
    );

    // A second run picks up the access token the app wrote with the old key (its refresh token
    // was read after the write, so the first run already moved it).
    const second = await rekeyDatabase(database, box);
    assertEquals([second.rewritten, second.failures.length], [1, 1]);
    assertEquals(await keyIdsInUse(database), new Set(["2", "9"]));
  },
);

Deno.test("[rekey] SEALED_COLUMNS lists every *_enc column of the schema", () => {
  const inSchema = (Object.values(schema) as unknown[])
    .filter((value): value is PgTable => is(value, PgTable))
    .flatMap((table) =>
      Object.values(getTableColumns(table))
        .filter((column) => column.name.endsWith("_enc"))
        .map((column) => `${getTableName(table)}.${column.name}`)
    )
    .sort();
  assertEquals(SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`).sort(), inSchema);
  assert(SEALED_COLUMNS.every((c) => `${c.field}_enc` === c.column), "field = column less _enc");
});
