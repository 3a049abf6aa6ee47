/**
 * Phones reporting calls to `/api/calls` the way the browser phone's journal outbox does:
 * every phase is queued when it happens and sent at once (so phases of one call race each
 * other), each retried after a short pause on any failure but a refusal, each report dated by
 * its age and carrying the call's facts. Shared by the chaos test and `bench/chaos.ts`.
 *
 * @module
 */
import { type Portal, startPortal } from "../../dev/portal/mod.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { waitUntilReady } from "../support/http.ts";
import { freePort } from "../support/ports.ts";
import type { CallReportInput } from "../../lib/shared/api/calls.ts";
import { frameClient } from "../support/bitrix.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { type AppProcess, type Random, spawnApp } from "./support.ts";

/** The portal users with a phone on every emulated portal. */
const PHONE_USERS = [2, 3];

/** A call as the phone made it, with the STATUS_CODE Bitrix24 must get for it. */
export interface MadeCall {
  portal: Portal;
  userId: number;
  sipCallId: string;
  answered: boolean;
  sipStatus: number;
  durationSec: number;
  statusCode: string;
}

/** How calls end: direction, final SIP status, Bitrix24's STATUS_CODE. */
const OUTCOMES = [
  { direction: "outbound", sipStatus: 200, statusCode: "200" },
  { direction: "inbound", sipStatus: 200, statusCode: "200" },
  { direction: "outbound", sipStatus: 486, statusCode: "486" },
  { direction: "outbound", sipStatus: 487, statusCode: "603-S" },
  { direction: "inbound", sipStatus: 487, statusCode: "304" },
  { direction: "outbound", sipStatus: 603, statusCode: "603" },
] as const;

/** A running load; `stop()` ends it once every report is acknowledged. */
export interface ChaosLoad {
  stop(): Promise<MadeCall[]>;
  /** Report attempts that failed and were sent again. */
  retries(): number;
}

/** Starts two phones on each of `portals`, reporting to the app at `appUrl`. */
export function startChaosLoad(
  opts: { portals: Portal[]; appUrl: string; rng: Random; pauseMs?: [number, number] },
): ChaosLoad {
  const { rng } = opts;
  const made: MadeCall[] = [];
  const unacked = new Set<Promise<void>>();
  const refused: string[] = [];
  let retries = 0;
  let stopping = false;

  const phone = async (portal: Portal, userId: number, index: number) => {
    const frame = frameClient(portal, opts.appUrl);
    /** Sends one report until it is taken; `build` dates it at each attempt. */
    const send = (build: () => CallReportInput) => {
      const delivery = (async () => {
        for (;;) {
          let status = 0;
          try {
            const res = await frame.calls(userId, { body: build() });
            status = res.status;
            await res.body?.cancel();
          } catch {
            status = 0;
          }
          if (status >= 200 && status < 300) return;
          if (status >= 400 && status < 500 && ![401, 408, 429].includes(status)) {
            refused.push(`${JSON.stringify(build())}: ${status}`);
            return;
          }
          retries++;
          await sleep(rng.int(200, 1000));
        }
      })();
      unacked.add(delivery);
      delivery.finally(() => unacked.delete(delivery));
    };
    for (let n = 0; !stopping; n++) {
      const outcome = rng.pick(OUTCOMES);
      const answered = outcome.sipStatus === 200;
      const call: MadeCall = {
        portal,
        userId,
        sipCallId: `chaos-${index}-${n}-${rng.hex(6)}@pbx`,
        answered,
        sipStatus: outcome.sipStatus,
        durationSec: answered ? rng.int(1, 600) : 0,
        statusCode: outcome.statusCode,
      };
      made.push(call);
      const startedAt = Date.now();
      const facts = () => ({
        direction: outcome.direction,
        number: `+7495${String(index).padStart(3, "0")}${String(n).padStart(4, "0")}`,
        startedAgoMs: Date.now() - startedAt,
      });
      send(() => ({
        phase: "start",
        sipCallId: call.sipCallId,
        direction: outcome.direction,
        number: facts().number,
        agoMs: Date.now() - startedAt,
      }));
      await sleep(rng.int(30, 300));
      if (answered) {
        const at = Date.now();
        send(() => ({
          phase: "answer",
          sipCallId: call.sipCallId,
          agoMs: Date.now() - at,
          call: facts(),
        }));
        await sleep(rng.int(30, 300));
      }
      const endedAt = Date.now();
      send(() => ({
        phase: "end",
        sipCallId: call.sipCallId,
        sipStatus: call.sipStatus,
        durationSec: call.durationSec,
        agoMs: Date.now() - endedAt,
        call: facts(),
      }));
      const [min, max] = opts.pauseMs ?? [300, 1200];
      await sleep(rng.int(min, max));
    }
  };

  const phones = opts.portals.flatMap((portal, p) =>
    PHONE_USERS.map((userId, u) => phone(portal, userId, p * PHONE_USERS.length + u))
  );
  return {
    retries: () => retries,
    async stop() {
      stopping = true;
      await Promise.all(phones);
      await waitFor("every report acknowledged", () => unacked.size === 0, {
        timeoutMs: 120_000,
        intervalMs: 200,
      });
      if (refused.length) throw new Error(`reports refused:\n${refused.join("\n")}`);
      return made;
    },
  };
}

/** Emulated portals and `main.ts` on one PostgreSQL, the app restartable (see {@link startChaosWorld}). */
export interface ChaosWorld extends AsyncDisposable {
  portals: Portal[];
  appUrl: string;
  /** The app process now running. */
  app(): AppProcess;
  /** SIGKILL, then (after `pauseMs`) a new process on the same port, ready. */
  kill(pauseMs?: number): Promise<void>;
  /** Installs the app on every portal; throws with the app's output on a refusal. */
  install(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts `portalCount` emulated portals and `main.ts` on `databaseUrl` (a fresh key, loopback
 * portals allowed), and waits until the app is ready. Refreshes are not needed within a run
 * (tokens live an hour), so the first portal's OAuth server stands for all.
 */
export async function startChaosWorld(
  databaseUrl: string,
  portalCount: number,
  logLevel = "warn",
): Promise<ChaosWorld> {
  const port = freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const portals: Portal[] = [];
  for (let i = 0; i < portalCount; i++) {
    portals.push(
      await startPortal({
        app: { type: "local" },
        appUrl: `${appUrl}/`,
        installUrl: `${appUrl}/install`,
      }),
    );
  }
  const env = {
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY: generateKey(),
    APP_BASE_URL: appUrl,
    BITRIX_OAUTH_URL: portals[0].tokenUrl,
    BITRIX_ALLOW_INSECURE_PORTALS: "true",
    LOG_LEVEL: logLevel,
  };
  const spawn = async () => {
    const started = await spawnApp(env, port);
    await waitUntilReady(appUrl, { timeoutMs: 60_000, intervalMs: 100 });
    return started;
  };
  let app = await spawn();
  const close = async () => {
    await app.stop();
    for (const portal of portals) await portal.close();
  };
  return {
    portals,
    appUrl,
    app: () => app,
    async kill(pauseMs = 0) {
      Deno.kill(app.pid, "SIGKILL");
      await app.status;
      await sleep(pauseMs);
      app = await spawn();
    },
    async install() {
      for (const portal of portals) {
        const res = await frameClient(portal, appUrl).install();
        const body = await res.text();
        if (res.status !== 200) throw new Error(`install: ${res.status} ${body}\n${app.output()}`);
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
