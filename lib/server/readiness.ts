/**
 * Readiness: asks the database and the secrets provider, live, whether they answer now. Clients
 * on the internet get an answer at most {@link READINESS_TTL_MS} old instead (`CachedReadiness`),
 * so a flood of `/readyz` does not become a flood of database and Vault requests.
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

/** How long a readiness answer is reused for clients off this host. */
export const READINESS_TTL_MS = 2_000;

/** The last readiness answer, reused for {@link READINESS_TTL_MS} (one check in flight at most). */
export class CachedReadiness {
  private last?: { report: Promise<ReadinessReport>; at: number };

  constructor(
    private readonly deps: ReadinessDeps,
    private readonly ttlMs = READINESS_TTL_MS,
    private readonly now = Date.now,
  ) {}

  /** The answer of a check started less than `ttlMs` ago, or of a new one. */
  report(): Promise<ReadinessReport> {
    if (!this.last || this.now() - this.last.at >= this.ttlMs) {
      this.last = { report: checkReadiness(this.deps), at: this.now() };
    }
    return this.last.report;
  }
}

function describe(err: unknown): string {
  const e = err as { code?: string; message?: string };
  return e?.code ?? e?.message?.slice(0, 120) ?? "unknown error";
}
