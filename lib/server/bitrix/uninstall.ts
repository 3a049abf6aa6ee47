/**
 * ONAPPUNINSTALL is confirmed with the portal before anything is deleted: an employee can read
 * the application token from a page POST and forge the event. The app asks the portal, at its
 * stored address with the stored server-side tokens, whether it still accepts them (`app.info`):
 * a portal that answers still has the app installed and the event is refused; a portal that
 * refuses the tokens has removed the app and the uninstall is done. When the portal cannot be
 * asked (unreachable, rate limited, the pair dead), the uninstall is kept pending (an
 * `uninstall_pending` audit row, resumed after a restart) and asked again later; it is never done
 * on an outage alone.
 *
 * @module
 */
import type { Portal, PortalRepo } from "../db/portals.ts";
import type { PortalChanges } from "../portal_changes.ts";
import type { PortalClients } from "./portal_clients.ts";
import { AppError, ForbiddenError } from "../errors.ts";
import { log } from "../log.ts";
import { BitrixApiError } from "./rest.ts";
import { KeyedBuckets } from "../rate_limit.ts";

/** What the portal says about the app: still installed, removed, or no answer to go by. */
export type InstallState = "installed" | "removed" | "unknown";

/** Refusals of the app's tokens that mean the app is gone from the portal. */
const REMOVED_CODES = new Set([
  "invalid_token",
  "NO_AUTH_FOUND",
  "APPLICATION_NOT_FOUND",
  "invalid_client",
]);

/** Asks the portal with the stored server-side tokens whether the app is still installed. */
export async function askPortal(
  clients: Pick<PortalClients, "forPortal">,
  portal: Portal,
): Promise<InstallState> {
  try {
    const client = await clients.forPortal(portal);
    await client.call("app.info");
    return "installed";
  } catch (err) {
    // A dead pair (`invalid_grant`) or no pair proves nothing: the app may well be installed.
    if (err instanceof BitrixApiError && REMOVED_CODES.has(err.code)) return "removed";
    if (!(err instanceof BitrixApiError) && !(err instanceof AppError)) throw err;
    return "unknown";
  }
}

/** Portal questions per portal for ONAPPUNINSTALL events: a burst of 5, then one per 10 s. */
const ASK_BURST = 5;
const ASK_REFILL_MS = 10_000;

/** The result of an ONAPPUNINSTALL: done now, or pending until the portal answers. */
export type UninstallOutcome = "done" | "pending";

/** What confirming and doing uninstalls needs. */
export interface UninstallDeps {
  portals: Pick<
    PortalRepo,
    "recordEvent" | "pendingUninstalls" | "findById" | "uninstall"
  >;
  clients: Pick<PortalClients, "forPortal">;
  changes: Pick<PortalChanges, "changed">;
}

/**
 * Confirms ONAPPUNINSTALL events with the portal and keeps unconfirmed ones pending, asking
 * again with a growing delay until the portal answers.
 */
export class Uninstaller {
  private readonly pending = new Map<
    string,
    { clean: boolean; attempt: number; timer: ReturnType<typeof setTimeout> }
  >();
  private readonly asks = new KeyedBuckets({ burst: ASK_BURST, perSecond: 1000 / ASK_REFILL_MS });
  private stopped = false;

  constructor(
    private readonly deps: UninstallDeps,
    private readonly retryDelayMs: (attempt: number) => number = defaultDelay,
  ) {}

  /**
   * Handles an authenticated ONAPPUNINSTALL: throws `ForbiddenError` when the portal still has
   * the app (a forged event; nothing changes), uninstalls when the portal refuses the app's
   * tokens, and otherwise keeps it pending.
   */
  async handle(portal: Portal, clean: boolean): Promise<UninstallOutcome> {
    if (!this.asks.take(portal.id)) {
      // A flood (whoever holds the application token can send it): refused without asking, but
      // asked again later, so a genuine uninstall among the flood is still done.
      if (!this.pending.has(portal.id)) this.schedule(portal, clean, 0);
      refuse(portal, clean);
      throw new ForbiddenError("too many uninstall events; the portal will be asked later");
    }
    const state = await askPortal(this.deps.clients, portal);
    if (state === "installed") {
      this.cancel(portal.id);
      refuse(portal, clean);
      throw new ForbiddenError("the portal says the app is still installed");
    }
    if (state === "removed") {
      this.cancel(portal.id);
      await uninstallNow(this.deps, portal, clean);
      return "done";
    }
    await this.deps.portals.recordEvent(portal, "uninstall_pending", { clean });
    log.warn("bitrix24 uninstall pending: the portal could not confirm it", {
      memberId: portal.memberId,
      clean,
    });
    this.schedule(portal, clean || this.pending.get(portal.id)?.clean === true, 0);
    return "pending";
  }

  /** Asks again about the uninstalls a previous process left pending (call once at start). */
  async resume(): Promise<void> {
    for (const { portal, clean } of await this.deps.portals.pendingUninstalls()) {
      if (!this.pending.has(portal.id)) this.schedule(portal, clean, 0);
    }
  }

  /** Portal ids with an uninstall waiting for the portal's answer. */
  pendingPortals(): string[] {
    return [...this.pending.keys()];
  }

  /** Stops every retry (on shutdown). */
  stop(): void {
    this.stopped = true;
    for (const { timer } of this.pending.values()) clearTimeout(timer);
    this.pending.clear();
  }

  private cancel(portalId: string): void {
    const entry = this.pending.get(portalId);
    if (entry) clearTimeout(entry.timer);
    this.pending.delete(portalId);
  }

  private schedule(portal: Portal, clean: boolean, attempt: number): void {
    if (this.stopped) return;
    this.cancel(portal.id);
    const timer = setTimeout(async () => {
      try {
        const current = await this.deps.portals.findById(portal.id);
        if (!current?.installed) return void this.pending.delete(portal.id);
        const state = await askPortal(this.deps.clients, current);
        if (state === "unknown") return this.schedule(current, clean, attempt + 1);
        this.pending.delete(portal.id);
        if (state === "removed") await uninstallNow(this.deps, current, clean);
        else refuse(current, clean);
      } catch (err) {
        log.error("bitrix24 pending uninstall failed", { memberId: portal.memberId, error: err });
        this.schedule(portal, clean, attempt + 1);
      }
    }, this.retryDelayMs(attempt));
    this.pending.set(portal.id, { clean, attempt, timer });
  }
}

/** 30 s, doubling up to 15 minutes. */
function defaultDelay(attempt: number): number {
  return Math.min(30_000 * 2 ** attempt, 15 * 60_000);
}

/** Logs a forged uninstall (not written: a flood of them must not grow the database). */
function refuse(portal: Portal, clean: boolean): void {
  log.warn("bitrix24 forged uninstall refused: the app is still installed", {
    memberId: portal.memberId,
    clean,
  });
}

/** Drops the portal's tokens (with `clean`, its data) and every cached answer about it. */
async function uninstallNow(deps: UninstallDeps, portal: Portal, clean: boolean): Promise<void> {
  await deps.portals.uninstall(portal.id, clean);
  deps.changes.changed(portal, { uninstalled: true });
  await deps.portals.recordEvent(
    { id: clean ? null : portal.id, memberId: portal.memberId },
    "uninstall",
    { clean },
  );
  log.info("portal uninstalled", { memberId: portal.memberId, clean });
}
