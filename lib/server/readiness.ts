/**
 * Readiness: asks the database and the secrets provider, live, whether they answer now.
 *
 * @module
 */
import type { Database } from "./db/client.ts";
import type { SecretsProvider } from "./secrets/provider.ts";

/** One dependency's state. */
export interface Check {
  ok: boolean;
  reason?: string;
}

/** What `/readyz` answers. */
export interface ReadinessReport {
  ready: boolean;
  checks: { database: Check; secrets: Check; migrations: Check };
}

/** What readiness asks. */
export interface ReadinessDeps {
  database: Pick<Database, "ping">;
  secrets: Pick<SecretsProvider, "health">;
  /** Whether migrations have been applied. */
  isMigrated(): boolean;
}

/** Checks the database (a query), migrations (applied) and the secrets provider. */
export async function checkReadiness(services: ReadinessDeps): Promise<ReadinessReport> {
  const [database, secrets] = await Promise.all([
    services.database.ping(2000).then(
      (): Check => ({ ok: true }),
      (err): Check => ({ ok: false, reason: `database unreachable: ${describe(err)}` }),
    ),
    services.secrets.health().catch((err): Check => ({ ok: false, reason: describe(err) })),
  ]);
  const migrations: Check = services.isMigrated()
    ? { ok: true }
    : { ok: false, reason: "migrations not applied yet" };
  return {
    ready: database.ok && secrets.ok && migrations.ok,
    checks: { database, secrets, migrations },
  };
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e?.code ?? e?.message?.slice(0, 120) ?? "unknown error";
}
