/**
 * Re-encryption after a key rotation: every sealed column is opened with whatever key of the
 * ring sealed it and sealed again with the ring's active key, bound to the same row and field
 * (`aad(table, rowId, field)`), in batches.
 *
 * Idempotent and resumable: only values not yet sealed with the active key are read, so a run
 * that stopped half way is finished by running it again, and a finished run finds nothing to
 * do. Each value is written only if it is still the one that was read (compare-and-set), so a
 * running app that stores a fresh token meanwhile is never overwritten.
 *
 * @module
 */
import { and, asc, count, eq, gt, isNotNull, ne, type SQL, sql } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";
import type { Database } from "./client.ts";
import { portals, sipAccounts } from "./schema.ts";
import { aad, type Sealer, SecretBox } from "../secrets/crypto.ts";

/** One column holding sealed values, and the field name its additional data uses. */
export interface SealedColumn {
  /** SQL table name (the first part of the additional data). */
  table: "portals" | "sip_accounts";
  /** SQL column name. */
  column: string;
  /** Field name of the additional data (`aad(table, rowId, field)`). */
  field: string;
}

interface ColumnBinding extends SealedColumn {
  source: typeof portals | typeof sipAccounts;
  id: PgColumn;
  value: PgColumn;
  /** The drizzle property name, for `update().set()`. */
  property: string;
}

const BINDINGS: readonly ColumnBinding[] = [
  {
    table: "portals",
    column: "access_token_enc",
    field: "access_token",
    source: portals,
    id: portals.id,
    value: portals.accessTokenEnc,
    property: "accessTokenEnc",
  },
  {
    table: "portals",
    column: "refresh_token_enc",
    field: "refresh_token",
    source: portals,
    id: portals.id,
    value: portals.refreshTokenEnc,
    property: "refreshTokenEnc",
  },
  {
    table: "portals",
    column: "client_secret_enc",
    field: "client_secret",
    source: portals,
    id: portals.id,
    value: portals.clientSecretEnc,
    property: "clientSecretEnc",
  },
  {
    table: "sip_accounts",
    column: "password_enc",
    field: "password",
    source: sipAccounts,
    id: sipAccounts.id,
    value: sipAccounts.passwordEnc,
    property: "passwordEnc",
  },
];

/** Every sealed column of the schema. */
export const SEALED_COLUMNS: readonly SealedColumn[] = BINDINGS.map((
  { table, column, field },
) => ({ table, column, field }));

/** A value that could not be re-encrypted (never contains the value). */
export interface RekeyFailure {
  table: string;
  field: string;
  rowId: string;
  /** The key id the value names (missing from the ring, or the value is damaged). */
  keyId: string | undefined;
  reason: string;
}

/** What a run did. */
export interface RekeyResult {
  /** The key everything is now sealed with. */
  activeKeyId: string;
  /** Values re-sealed with the active key. */
  rewritten: number;
  /** Values changed by someone else between read and write (a new run picks them up). */
  changedMeanwhile: number;
  failures: RekeyFailure[];
}

/** Options of {@link rekeyDatabase}. */
export interface RekeyOptions {
  /** Rows read and written per transaction. @defaultValue 200 */
  batchSize?: number;
  /** Called after each batch (progress logging). */
  onBatch?: (progress: { table: string; field: string; rewritten: number }) => void;
}

/** Lock name shared by every process that re-encrypts (one run at a time per database). */
const REKEY_LOCK = "secrets:rekey";

/** The key id of a sealed value, in SQL (`v1:<key id>:<iv>:<ciphertext>`). */
function sealedWith(binding: ColumnBinding): SQL {
  return sql`split_part(${binding.value}, ':', 2)`;
}

function hasValue(binding: ColumnBinding): SQL {
  return and(isNotNull(binding.value), ne(binding.value, ""))!;
}

/** What re-encryption needs of a key ring: a `SecretBox` built from the whole ring. */
export interface RekeyBox extends Sealer {
  /** The key id values are re-sealed with. */
  readonly activeKeyId: string;
}

/**
 * Re-seals every value not sealed with `box`'s active key. `box` must hold the old keys too
 * (the whole ring). Values that do not open are reported in `failures` and left untouched.
 */
export async function rekeyDatabase(
  database: Database,
  box: RekeyBox,
  options: RekeyOptions = {},
): Promise<RekeyResult> {
  const batchSize = options.batchSize ?? 200;
  const active = box.activeKeyId;
  const result: RekeyResult = {
    activeKeyId: active,
    rewritten: 0,
    changedMeanwhile: 0,
    failures: [],
  };
  await database.withLock(REKEY_LOCK, async () => {
    for (const binding of BINDINGS) {
      let after = "";
      for (;;) {
        const rows = await database.db
          .select({ id: binding.id, value: binding.value })
          .from(binding.source)
          .where(and(
            hasValue(binding),
            ne(sealedWith(binding), active),
            after ? gt(binding.id, after) : undefined,
          ))
          .orderBy(asc(binding.id))
          .limit(batchSize) as { id: string; value: string }[];
        if (rows.length === 0) break;
        after = rows.at(-1)!.id;

        const updates: { id: string; from: string; to: string }[] = [];
        for (const row of rows) {
          const where = aad(binding.table, row.id, binding.field);
          try {
            const plain = await box.open(row.value, where);
            updates.push({ id: row.id, from: row.value, to: await box.seal(plain, where) });
          } catch (err) {
            result.failures.push({
              table: binding.table,
              field: binding.field,
              rowId: row.id,
              keyId: SecretBox.keyIdOf(row.value),
              reason: err instanceof Error ? err.message : String(err),
            });
          }
        }
        let rewritten = 0;
        await database.db.transaction(async (tx) => {
          for (const u of updates) {
            const done = await tx.update(binding.source)
              .set({ [binding.property]: u.to })
              .where(and(eq(binding.id, u.id), eq(binding.value, u.from)))
              .returning({ id: binding.id });
            if (done.length) rewritten++;
            else result.changedMeanwhile++;
          }
        });
        result.rewritten += rewritten;
        options.onBatch?.({ table: binding.table, field: binding.field, rewritten });
      }
    }
  });
  return result;
}

/** How many sealed values each key id holds, per column (`{ "portals.access_token": { "1": 3 } }`). */
export async function countByKey(
  database: Database,
): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  for (const binding of BINDINGS) {
    const keyId = sealedWith(binding);
    const rows = await database.db
      .select({ keyId: sql<string>`${keyId}`, n: count() })
      .from(binding.source)
      .where(hasValue(binding))
      .groupBy(keyId);
    out[`${binding.table}.${binding.field}`] = Object.fromEntries(
      rows.map((r) => [r.keyId, Number(r.n)]),
    );
  }
  return out;
}

/** The key ids any sealed value still uses. */
export async function keyIdsInUse(database: Database): Promise<Set<string>> {
  const counts = await countByKey(database);
  return new Set(Object.values(counts).flatMap((byKey) => Object.keys(byKey)));
}
