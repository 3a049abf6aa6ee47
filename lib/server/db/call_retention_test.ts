import "../../../tests/support/logs.ts";
import { assertEquals } from "../../../tests/support/assert.ts";
import { testBothEngines } from "../../../tests/support/db.ts";
import { asc, eq } from "drizzle-orm";
import { portalSettingsSchema } from "../../shared/api/widget.ts";
import { PortalRepo } from "./portals.ts";
import { CallRetention } from "./call_retention.ts";
import { calls } from "./schema.ts";
import type { Db } from "./client.ts";

const NOW = new Date("2026-06-01T12:00:00Z");
const daysAgo = (days: number) => new Date(NOW.getTime() - days * 86_400_000);

async function portal(repo: PortalRepo, memberId: string, retentionDays?: number) {
  const { portal } = await repo.upsertInstall({
    memberId,
    domain: `${memberId}.bitrix24.com`,
    clientEndpoint: `https://${memberId}.bitrix24.com/rest/`,
    serverEndpoint: "https://oauth.bitrix.info/rest/",
    tokens: { accessToken: "a", refreshToken: "r", expiresAt: NOW },
    installedByUserId: 1,
  });
  if (retentionDays !== undefined) {
    await repo.updateSettings(
      portal.id,
      portalSettingsSchema.parse({ callRetentionDays: retentionDays }),
    );
  }
  return portal.id;
}

/** Calls of a portal started `days` ago, labelled by their SIP Call-ID. */
async function addCalls(
  db: Db,
  portalId: string,
  days: number,
  labels: string[],
  syncState: "pending" | "synced" | "failed" = "synced",
) {
  await db.insert(calls).values(labels.map((sipCallId) => ({
    id: crypto.randomUUID(),
    portalId,
    bitrixUserId: 1,
    sipCallId,
    direction: "outbound" as const,
    phoneNumber: "+100",
    startedAt: daysAgo(days),
    endedAt: daysAgo(days),
    syncState,
  })));
}

const left = async (db: Db, portalId: string) =>
  (await db.select({ id: calls.sipCallId }).from(calls).where(eq(calls.portalId, portalId))
    .orderBy(asc(calls.sipCallId))).map((r) => r.id);

testBothEngines(
  "[db] call retention: a portal's calls past its setting go in batches; recent, pending and other portals' stay",
  async ({ database, box }) => {
    const db = database.db;
    const repo = new PortalRepo(db, box);
    const byDefault = await portal(repo, "default"); // 365 days
    const short = await portal(repo, "short", 30);
    const long = await portal(repo, "long", 3650);
    await addCalls(db, byDefault, 400, ["d-old-1", "d-old-2", "d-old-3", "d-old-4", "d-old-5"]);
    await addCalls(db, byDefault, 400, ["d-old-failed"], "failed");
    await addCalls(db, byDefault, 400, ["d-old-pending"], "pending");
    await addCalls(db, byDefault, 100, ["d-recent"]);
    await addCalls(db, short, 40, ["s-old-1", "s-old-2"]);
    await addCalls(db, short, 10, ["s-recent"]);
    await addCalls(db, long, 400, ["l-kept"]);

    const retention = new CallRetention(db, { batchSize: 2, pauseMs: 0, now: () => NOW });
    assertEquals(await retention.runOnce(), 8);
    assertEquals(await left(db, byDefault), ["d-old-pending", "d-recent"]);
    assertEquals(await left(db, short), ["s-recent"]);
    assertEquals(await left(db, long), ["l-kept"]);
    // Nothing more to delete: a second pass is a no-op.
    assertEquals(await retention.runOnce(), 0);
  },
);
