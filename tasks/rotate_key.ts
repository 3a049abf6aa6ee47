/**
 * `deno task db:rotate-key [command]`: rotates the key that encrypts secrets at rest.
 *
 * | command          | what                                                                     |
 * | ---------------- | ------------------------------------------------------------------------ |
 * | `status`         | key ids (never values), the active one, how many values each key seals   |
 * | `add`            | adds a fresh key to the ring, not active yet (`--activate`: active now)  |
 * | `activate <id>`  | makes `<id>` the key new values are sealed with                          |
 * | `rekey`          | re-encrypts every sealed value with the active key (resumable)           |
 * | `prune`          | removes keys no sealed value uses (never the active one)                 |
 * | `rotate`         | `add --activate`, then `rekey` (default; app stopped or restarted after) |
 *
 * The ring lives where the app reads it: `SECRETS=local` → the key file `LOCAL_KEY_FILE`
 * (written atomically, mode 0600); `SECRETS=vault` → KV v2 `<VAULT_KV_MOUNT>/<VAULT_KV_PATH>/crypto`,
 * written with check-and-set by an operator token from `VAULT_TOKEN` or `VAULT_TOKEN_FILE`
 * (the app's own AppRole policy is read-only). A ring given as `ENCRYPTION_KEY` has one key and
 * cannot be rotated in place: move it to a key file first.
 *
 * Running app instances keep the ring they loaded until they restart, so with several
 * instances rotate in steps (README, Operations → Key rotation): `add`, restart; `activate`,
 * restart; `rekey`; `prune`.
 *
 * @module
 */
import { z } from "zod";
import { type Config, ConfigError, loadConfig } from "../lib/server/config.ts";
import { openSecrets, resolveDatabaseUrl } from "../lib/server/services.ts";
import { type Database, openDatabase } from "../lib/server/db/client.ts";
import { countByKey, keyIdsInUse, rekeyDatabase } from "../lib/server/db/rekey.ts";
import { generateKey, SecretBox } from "../lib/server/secrets/crypto.ts";
import { readOrCreateKeyFile, writeKeyFile } from "../lib/server/secrets/local.ts";
import type { KeyRing } from "../lib/server/secrets/provider.ts";
import { type VaultHttpOptions, vaultRequest } from "../lib/server/secrets/vault.ts";

/** Where the key ring is read from and written to. */
interface KeyRingStore {
  /** Where it is, for messages (no secrets). */
  readonly where: string;
  read(): Promise<KeyRing>;
  /** Replaces the ring read last (fails if someone else changed it since, where supported). */
  write(ring: KeyRing): Promise<void>;
}

class KeyFileStore implements KeyRingStore {
  constructor(readonly where: string) {}

  async read(): Promise<KeyRing> {
    // Never create a ring here: a fresh key would open nothing that is stored.
    try {
      await Deno.stat(this.where);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      throw new UsageError(`no key file at ${this.where} (LOCAL_KEY_FILE)`);
    }
    return await readOrCreateKeyFile(this.where);
  }

  write(ring: KeyRing): Promise<void> {
    return writeKeyFile(this.where, ring);
  }
}

const kvReadSchema = z.object({
  data: z.object({
    data: z.object({ keys: z.record(z.string(), z.string()), active: z.string() }),
    metadata: z.object({ version: z.number().int() }),
  }),
});

class VaultKvStore implements KeyRingStore {
  private version?: number;
  readonly where: string;

  constructor(
    private readonly http: VaultHttpOptions,
    private readonly token: string,
    private readonly path: string,
  ) {
    this.where = `vault ${path}`;
  }

  async read(): Promise<KeyRing> {
    const body = kvReadSchema.parse(
      await vaultRequest(this.http, { method: "GET", path: this.path, token: this.token }),
    );
    this.version = body.data.metadata.version;
    return body.data.data;
  }

  async write(ring: KeyRing): Promise<void> {
    if (this.version === undefined) throw new Error("read the ring before writing it");
    await vaultRequest(this.http, {
      method: "POST",
      path: this.path,
      token: this.token,
      body: { options: { cas: this.version }, data: ring },
    });
  }
}

/** The store the configuration names. */
async function keyRingStore(config: Config): Promise<KeyRingStore | KeyRing> {
  if (config.SECRETS === "vault") {
    const tokenFile = Deno.env.get("VAULT_TOKEN_FILE");
    const token = Deno.env.get("VAULT_TOKEN") ||
      (tokenFile ? (await Deno.readTextFile(tokenFile)).trim() : "");
    if (!token) throw new UsageError("SECRETS=vault: set VAULT_TOKEN or VAULT_TOKEN_FILE");
    const mount = config.VAULT_KV_MOUNT.replace(/^\/+|\/+$/g, "");
    const base = config.VAULT_KV_PATH.replace(/^\/+|\/+$/g, "");
    return new VaultKvStore({ addr: config.VAULT_ADDR! }, token, `${mount}/data/${base}/crypto`);
  }
  if (config.ENCRYPTION_KEY) return { active: "1", keys: { "1": config.ENCRYPTION_KEY } };
  return new KeyFileStore(config.LOCAL_KEY_FILE);
}

/** A mistake of the operator: printed without a stack trace, exit code 2. */
class UsageError extends Error {}

/** The next numeric key id after the ring's largest. */
function nextKeyId(ring: KeyRing): string {
  const numbers = Object.keys(ring.keys).map(Number).filter(Number.isInteger);
  return String(Math.max(0, ...numbers) + 1);
}

function describe(ring: KeyRing): string {
  return `keys ${Object.keys(ring.keys).join(", ")}; active ${ring.active}`;
}

async function openDb(config: Config): Promise<Database> {
  const secrets = await openSecrets(config);
  try {
    return await openDatabase(await resolveDatabaseUrl(config, secrets));
  } finally {
    await secrets.close();
  }
}

async function withDb<T>(config: Config, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDb(config);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

async function rekey(config: Config, ring: KeyRing): Promise<boolean> {
  const box = SecretBox.fromKeyRing(ring);
  const result = await withDb(config, (database) =>
    rekeyDatabase(database, box, {
      onBatch: ({ table, field, rewritten }) =>
        console.log(`re-encrypted ${rewritten} of ${table}.${field}`),
    }));
  console.log(
    `rekey: ${result.rewritten} values now sealed with key ${result.activeKeyId}` +
      (result.changedMeanwhile ? `; ${result.changedMeanwhile} changed meanwhile: run again` : ""),
  );
  for (const f of result.failures) {
    console.error(
      `cannot re-encrypt ${f.table}.${f.field} of ${f.rowId} (key ${f.keyId}): ${f.reason}`,
    );
  }
  return result.failures.length === 0 && result.changedMeanwhile === 0;
}

const COMMANDS = ["status", "add", "activate", "rekey", "prune", "rotate"];
const USAGE =
  "usage: db:rotate-key [status | add [--activate] | activate <id> | rekey | prune | rotate]";

/** Runs one command; resolves to the exit code. */
async function main(args: string[]): Promise<number> {
  const [command = "rotate", ...rest] = args;
  if (!COMMANDS.includes(command)) throw new UsageError(USAGE);
  const config = await loadConfig();
  const source = await keyRingStore(config);
  const store = "read" in source ? source : undefined;
  const ring = store ? await store.read() : source as KeyRing;
  const save = async (next: KeyRing) => {
    if (!store) {
      throw new UsageError(
        "ENCRYPTION_KEY holds a single key and cannot be rotated in place: write it to a key " +
          'file as {"active":"1","keys":{"1":"<key>"}}, point LOCAL_KEY_FILE at it, unset ' +
          "ENCRYPTION_KEY, and rotate then",
      );
    }
    SecretBox.fromKeyRing(next); // validates ids and keys before anything is written
    await store.write(next);
    console.log(`${store.where}: ${describe(next)}`);
  };

  switch (command) {
    case "status": {
      console.log(`${store?.where ?? "ENCRYPTION_KEY"}: ${describe(ring)}`);
      const counts = await withDb(config, countByKey);
      for (const [column, byKey] of Object.entries(counts)) {
        const parts = Object.entries(byKey).map(([id, n]) => `key ${id}: ${n}`);
        console.log(`${column}: ${parts.join(", ") || "no values"}`);
      }
      return 0;
    }
    case "add":
    case "rotate": {
      const id = nextKeyId(ring);
      const activate = command === "rotate" || rest.includes("--activate");
      const next = {
        active: activate ? id : ring.active,
        keys: { ...ring.keys, [id]: generateKey() },
      };
      await save(next);
      if (command === "add") return 0;
      return await rekey(config, next) ? 0 : 1;
    }
    case "activate": {
      const id = rest[0];
      if (!id || !(id in ring.keys)) throw new UsageError(`activate: no key ${id ?? "(none)"}`);
      await save({ ...ring, active: id });
      return 0;
    }
    case "rekey":
      return await rekey(config, ring) ? 0 : 1;
    case "prune": {
      const used = await withDb(config, keyIdsInUse);
      const unused = Object.keys(ring.keys).filter((id) => id !== ring.active && !used.has(id));
      if (unused.length === 0) {
        console.log(`prune: every key is in use (${describe(ring)})`);
        return 0;
      }
      const keys = Object.fromEntries(
        Object.entries(ring.keys).filter(([id]) => !unused.includes(id)),
      );
      await save({ active: ring.active, keys });
      return 0;
    }
    default:
      throw new UsageError(USAGE);
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (err) {
    if (!(err instanceof UsageError || err instanceof ConfigError)) throw err;
    console.error(err.message);
    Deno.exit(2);
  }
}
