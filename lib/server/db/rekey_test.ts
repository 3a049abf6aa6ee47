import { eq, getTableColumns, getTableName, is } from "drizzle-orm";
import { PgTable } from "drizzle-orm/pg-core";
import { assert, assertEquals, assertRejects } from "../../../tests/support/assert.ts";
import { testBothEngines } from "../../../tests/support/db.ts";
import { generateKey, SecretBox } from "../secrets/crypto.ts";
import type { KeyRing } from "../secrets/provider.ts";
import { type Database, openDatabase } from "./client.ts";
import { startVaultTestServer } from "../../../dev/vault/mod.ts";
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
    const ids = await seed(database, SecretBox.fromKeyRing(ringOld));
    assertEquals(await keyIdsInUse(database), new Set(["1"]));

    const batches: number[] = [];
    const result = await rekeyDatabase(database, SecretBox.fromKeyRing(ringNew), {
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
    const onlyNew = SecretBox.fromKeyRing({ active: "2", keys: { "2": key2 } });
    assertEquals(await readAll(database, onlyNew, ids), expected);

    const again = await rekeyDatabase(database, SecretBox.fromKeyRing(ringNew));
    assertEquals(again.rewritten, 0, "nothing left to do");
  },
);

testBothEngines(
  "[rekey] an interrupted run is finished by the next one",
  async ({ database }) => {
    const ids = await seed(database, SecretBox.fromKeyRing(ringOld));
    const box = SecretBox.fromKeyRing(ringNew);
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
    const ids = await seed(database, SecretBox.fromKeyRing(ringOld));
    // One value sealed with a key the ring does not have.
    const stray = SecretBox.fromKeyRing({ active: "9", keys: { "9": generateKey() } });
    await new SipAccountRepo(database.db, stray).upsert(ids[1], 10, {
      wsUrl: "wss://pbx.example/ws",
      sipUri: "sip:10@p2.example",
      authUser: "10",
      password: "unknown-key",
    });
    // The app saves fresh tokens for portal 1 while the rotation is between read and write.
    const box = SecretBox.fromKeyRing(ringNew);
    const app = new PortalRepo(database.db, SecretBox.fromKeyRing(ringOld));
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

// ---- tasks/rotate_key.ts, run as `deno task db:rotate-key` runs it ---------------------------

const TASK = new URL("../../../tasks/rotate_key.ts", import.meta.url).pathname;

/**
 * Runs the task in a child process with `env` only (plus PATH/HOME), outside the repository
 * (so no `.env` is read); returns the exit code and the output.
 */
async function rotateKey(env: Record<string, string>, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--allow-sys",
      TASK,
      ...args,
    ],
    cwd: "/",
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** An on-disk PGlite database (shared with the child process, one process at a time). */
async function withSeededDir(
  ring: KeyRing,
  fn: (url: string, ids: string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rekey-task-" });
  try {
    const url = `pglite:${dir}/pg`;
    const database = await openDatabase(url);
    let ids: string[];
    try {
      await database.migrate();
      ids = await seed(database, SecretBox.fromKeyRing(ring));
    } finally {
      await database.close();
    }
    await fn(url, ids);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readBack(url: string, ring: KeyRing, ids: string[]) {
  const database = await openDatabase(url);
  try {
    return {
      values: await readAll(database, SecretBox.fromKeyRing(ring), ids),
      inUse: await keyIdsInUse(database),
    };
  } finally {
    await database.close();
  }
}

Deno.test("[rekey] db:rotate-key with a local key file: add, activate, rekey, prune", async () => {
  await withSeededDir(ringOld, async (url, ids) => {
    const keyFile = `${url.slice("pglite:".length)}/../master.key`;
    await Deno.writeTextFile(keyFile, JSON.stringify(ringOld), { mode: 0o600 });
    const env = { DATABASE_URL: url, LOCAL_KEY_FILE: keyFile, LOG_LEVEL: "warn" };
    const ring = async () => JSON.parse(await Deno.readTextFile(keyFile)) as KeyRing;

    const added = await rotateKey(env, "add");
    assertEquals(added.code, 0, added.text);
    assertEquals((await ring()).active, "1", "added, not active yet");
    assertEquals(Object.keys((await ring()).keys), ["1", "2"]);
    assert(!added.text.includes((await ring()).keys["2"]), "never prints a key");
    assertEquals((await Deno.stat(keyFile)).mode! & 0o777, 0o600);

    const activated = await rotateKey(env, "activate", "2");
    assertEquals(activated.code, 0, activated.text);
    assertEquals((await ring()).active, "2");

    const status = await rotateKey(env, "status");
    assertEquals(status.code, 0, status.text);
    assert(status.text.includes("sip_accounts.password: key 1: 3"), status.text);

    const rekeyed = await rotateKey(env, "rekey");
    assertEquals(rekeyed.code, 0, rekeyed.text);
    assert(rekeyed.text.includes("rekey: 12 values now sealed with key 2"), rekeyed.text);

    const pruned = await rotateKey(env, "prune");
    assertEquals(pruned.code, 0, pruned.text);
    const final = await ring();
    assertEquals(Object.keys(final.keys), ["2"], "key 1 dropped once nothing uses it");
    assertEquals(await readBack(url, final, ids), { values: expected, inUse: new Set(["2"]) });

    const bad = await rotateKey(env, "activate", "7");
    assertEquals(bad.code, 2, bad.text);
    assert(bad.text.includes("no key 7"));
  });
});

Deno.test("[rekey] db:rotate-key refuses to rotate ENCRYPTION_KEY or a missing key file", async () => {
  const fromEnv = await rotateKey({ ENCRYPTION_KEY: key1, DATABASE_URL: "pglite:memory" }, "add");
  assertEquals(fromEnv.code, 2, fromEnv.text);
  assert(fromEnv.text.includes("cannot be rotated in place"), fromEnv.text);
  const dir = await Deno.makeTempDir();
  try {
    const missing = await rotateKey({ LOCAL_KEY_FILE: `${dir}/none.key` }, "rotate");
    assertEquals(missing.code, 2, missing.text);
    await assertRejects(() => Deno.stat(`${dir}/none.key`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[rekey] db:rotate-key rotate with SECRETS=vault writes the ring to KV (cas)", async () => {
  const vault = startVaultTestServer();
  try {
    const cryptoPath = "secret/data/bitrix-app/crypto";
    await vault.admin("POST", cryptoPath, { data: ringOld });
    await withSeededDir(ringOld, async (url, ids) => {
      const env = {
        SECRETS: "vault",
        VAULT_ADDR: vault.addr,
        VAULT_ROLE_ID: "unused",
        VAULT_SECRET_ID: "unused",
        VAULT_TOKEN: vault.rootToken,
        DATABASE_URL: url,
        LOG_LEVEL: "warn",
      };
      const noToken = await rotateKey({ ...env, VAULT_TOKEN: "" }, "add");
      assertEquals(noToken.code, 2, noToken.text);

      const rotated = await rotateKey(env, "rotate");
      assertEquals(rotated.code, 0, rotated.text);
      const kv = await vault.admin("GET", cryptoPath) as {
        data: { data: KeyRing; metadata: { version: number } };
      };
      assertEquals(kv.data.metadata.version, 2, "one new version, written with cas");
      const ring = kv.data.data;
      assertEquals([ring.active, Object.keys(ring.keys)], ["2", ["1", "2"]]);
      assertEquals(await readBack(url, ring, ids), { values: expected, inUse: new Set(["2"]) });
    });
  } finally {
    await vault.close();
  }
});
