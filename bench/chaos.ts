/**
 * How long the call journal takes to catch up after each kind of fault
 * (`deno task bench:chaos`): for every scenario a fresh PostgreSQL server, four emulated
 * portals (Bitrix24's own rate limit: 2 requests a second, bursts of 50), the app as
 * `deno task start` runs it (`main.ts` in its own process) and two phones per portal reporting
 * calls like the browser's journal outbox (tests/reliability/journal_load.ts) for `--load`
 * seconds, with the scenario's fault a third of the way in. Printed per scenario: calls made,
 * reports retried, registers repeated, and the drain time (from the end of the load until every
 * row is synced and every call finished in its portal) beside the no-fault run's.
 *
 * Options: `--load 12 --only none,kill,postgres,503,hang`.
 *
 * @module
 */
import type { Portal } from "../dev/portal/mod.ts";
import { openDatabase } from "../lib/server/db/client.ts";
import { calls as callsTable } from "../lib/server/db/schema.ts";
import { startPostgres } from "../tests/support/postgres.ts";
import { sleep, waitFor } from "../tests/support/wait.ts";
import { startChaosLoad, startChaosWorld } from "../tests/reliability/journal_load.ts";
import { Random } from "../tests/reliability/support.ts";

const PORTALS = 4;

function parseArgs(args: string[]) {
  const opts: Record<string, string> = { load: "12", only: "none,kill,postgres,503,hang" };
  for (let i = 0; i < args.length; i += 2) opts[args[i].replace(/^--/, "")] = args[i + 1];
  return { loadMs: Number(opts.load) * 1000, only: opts.only.split(",") };
}

interface World {
  portals: Portal[];
  restartApp(): Promise<void>;
  restartPostgres(): Promise<void>;
}

const SCENARIOS: Record<string, { label: string; fault(w: World): Promise<void> }> = {
  none: { label: "no fault", fault: () => Promise.resolve() },
  kill: { label: "app killed (SIGKILL), restarted", fault: (w) => w.restartApp() },
  postgres: { label: "PostgreSQL stopped 2 s", fault: (w) => w.restartPostgres() },
  "503": {
    label: "one portal 503 for 6 s",
    fault: (w) => Promise.resolve(w.portals[1].setFault({ kind: "503", forMs: 6000 })),
  },
  hang: {
    label: "one portal hanging 6 s",
    fault: (w) => Promise.resolve(w.portals[2].setFault({ kind: "timeout", forMs: 6000 })),
  },
};

async function run(name: string, loadMs: number) {
  await using pg = await startPostgres();
  await using chaos = await startChaosWorld(pg.url, PORTALS, "error");
  const { portals, appUrl } = chaos;
  const world: World = {
    portals,
    restartApp: () => chaos.kill(),
    async restartPostgres() {
      await pg.stop();
      await sleep(2000);
      await pg.start();
    },
  };
  await chaos.install();
  {
    const load = startChaosLoad({ portals, appUrl, rng: new Random(14) });
    await sleep(loadMs / 3);
    await SCENARIOS[name].fault(world);
    await sleep((loadMs * 2) / 3);
    const loadEnded = Date.now();
    const made = await load.stop();
    const database = await openDatabase(pg.url, { poolSize: 2 });
    try {
      const finished = () =>
        portals.reduce(
          (n, p) =>
            n +
            p.records.calls("telephony.externalcall.finish").filter((c) => c.status === 200).length,
          0,
        );
      await waitFor("the sync to drain", async () => {
        const rows = await database.db.select().from(callsTable);
        return rows.length === made.length && rows.every((r) => r.syncState !== "pending") &&
          finished() >= made.length;
      }, { timeoutMs: 300_000, intervalMs: 250 });
      const drainMs = Date.now() - loadEnded;
      const registers = portals.flatMap((p) =>
        p.records.calls("telephony.externalcall.register").filter((c) => c.status === 200)
      );
      const repeated = registers.length -
        new Set(registers.map((c) => c.params.EXTERNAL_CALL_ID)).size;
      return { calls: made.length, retries: load.retries(), repeated, drainMs };
    } finally {
      await database.close();
    }
  }
}

if (import.meta.main) {
  const { loadMs, only } = parseArgs(Deno.args);
  console.log(
    `journal drain after faults: ${PORTALS} portals x 2 phones, ${loadMs / 1000} s of load, ` +
      `the fault at a third; ${navigator.hardwareConcurrency} cores`,
  );
  let floor: number | undefined;
  for (const name of only) {
    const r = await run(name, loadMs);
    floor ??= name === "none" ? r.drainMs : undefined;
    const beside = floor === undefined ? "" : ` (no fault: ${(floor / 1000).toFixed(1)} s)`;
    console.log(
      `${SCENARIOS[name].label.padEnd(34)} ${String(r.calls).padStart(4)} calls, ` +
        `${String(r.retries).padStart(5)} retried reports, ${r.repeated} repeated registers, ` +
        `drained in ${(r.drainMs / 1000).toFixed(1)} s${name === "none" ? "" : beside}`,
    );
  }
}
