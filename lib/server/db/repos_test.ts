import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../../../tests/support/assert.ts";
import { testBothEngines } from "../../../tests/support/db.ts";
import { PortalRepo } from "./portals.ts";
import { SipAccountRepo } from "./sip_accounts.ts";
import { CallRepo, clickToCallPlaceholder, sameNumber } from "./calls.ts";
import { calls, portals, sipAccounts } from "./schema.ts";
import { eq } from "drizzle-orm";
import { DecryptError } from "../secrets/crypto.ts";
import { sleep } from "../../../tests/support/wait.ts";

const tokens = (n: number) => ({
  accessToken: `access-${n}`,
  refreshToken: `refresh-${n}`,
  expiresAt: new Date(Date.now() + 3600_000),
});

const install = (memberId = "m-1") => ({
  memberId,
  domain: "acme.bitrix24.ru",
  clientEndpoint: "https://acme.bitrix24.ru/rest/",
  serverEndpoint: "https://oauth.bitrix.info/rest/",
  tokens: tokens(1),
  installedByUserId: 1,
});

testBothEngines(
  "[db] portals: upsert by member_id, tokens sealed at rest",
  async ({ database, box }) => {
    const repo = new PortalRepo(database.db, box);
    const first = await repo.upsertInstall(install());
    assert(first.created);
    const again = await repo.upsertInstall({
      ...install(),
      domain: "renamed.bitrix24.ru",
      tokens: tokens(2),
    });
    assert(!again.created);
    assertEquals(again.portal.id, first.portal.id);
    assertEquals(again.portal.domain, "renamed.bitrix24.ru");
    assertEquals((await repo.getTokens(first.portal.id))?.refreshToken, "refresh-2");

    const [raw] = await database.db.select().from(portals).where(eq(portals.id, first.portal.id));
    assert(!raw.accessTokenEnc!.includes("access-2") && raw.accessTokenEnc!.startsWith("v1:1:"));
    assert(!raw.refreshTokenEnc!.includes("refresh-2"));

    // A ciphertext moved to another row does not open there.
    const other = await repo.upsertInstall(install("m-2"));
    await database.db.update(portals).set({ refreshTokenEnc: raw.refreshTokenEnc }).where(
      eq(portals.id, other.portal.id),
    );
    await assertRejects(() => repo.getTokens(other.portal.id), DecryptError);
  },
);

testBothEngines(
  "[db] portals: application token hash, credentials, uninstall",
  async ({ database, box }) => {
    const repo = new PortalRepo(database.db, box);
    const { portal } = await repo.upsertInstall(install());
    assertEquals(await repo.verifyApplicationToken("m-1", "app-token"), undefined);
    await repo.setApplicationToken(portal.id, "app-token");
    assertEquals((await repo.verifyApplicationToken("m-1", "app-token"))?.id, portal.id);
    assertEquals(await repo.verifyApplicationToken("m-1", "app-tokeN"), undefined);
    assertEquals(await repo.verifyApplicationToken("m-unknown", "app-token"), undefined);

    await repo.saveLocalCredentials(portal.id, "local.abc", "s3cret");
    assertEquals(await repo.getLocalCredentials(portal.id), {
      clientId: "local.abc",
      clientSecret: "s3cret",
    });
    assertEquals((await repo.findById(portal.id))?.appKind, "local");

    await repo.recordEvent(portal, "install", { userId: 1 });
    await repo.recordEvent(portal, "placement_error", { code: "ERROR_PLACEMENT_LOADING_OVERTIME" });
    assertEquals((await repo.listEvents(portal.id, "placement_error")).length, 1);

    await repo.uninstall(portal.id, false);
    assertEquals(await repo.getTokens(portal.id), undefined);
    assertEquals(await repo.verifyApplicationToken("m-1", "app-token"), undefined);
    assertEquals((await repo.findById(portal.id))?.installed, false);

    const sip = new SipAccountRepo(database.db, box);
    await sip.upsert(portal.id, 5, {
      wsUrl: "wss://pbx/ws",
      sipUri: "sip:5@pbx",
      authUser: "5",
      password: "p",
    });
    await repo.uninstall(portal.id, true);
    assertEquals(await repo.findById(portal.id), undefined);
    assertEquals((await database.db.select().from(sipAccounts)).length, 0);
  },
);

testBothEngines(
  "[db] sip accounts: password sealed, kept on edit, only owner view has it",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new SipAccountRepo(database.db, box);
    const account = {
      wsUrl: "wss://pbx.example/ws",
      sipUri: "sip:101@pbx.example",
      authUser: "101",
    };
    const saved = await repo.upsert(portal.id, 7, {
      ...account,
      password: "hunter2",
      displayName: "Ann",
    });
    assertEquals(saved.hasPassword, true);
    assert(!("password" in saved) && !("passwordEnc" in saved));

    await repo.upsert(portal.id, 7, { ...account, authUser: "101a" });
    const owner = await repo.getWithPassword(portal.id, 7);
    assertEquals(owner?.password, "hunter2");
    assertEquals(owner?.authUser, "101a");

    const [raw] = await database.db.select().from(sipAccounts);
    assert(!raw.passwordEnc.includes("hunter2"));
    assertEquals((await repo.listForUsers(portal.id, [7, 8])).map((a) => a.bitrixUserId), [7]);
    assert(await repo.remove(portal.id, 7));
    assert(!(await repo.remove(portal.id, 7)));
  },
);

testBothEngines(
  "[db] calls: idempotent start, end once, claim leases rows",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const start = {
      portalId: portal.id,
      bitrixUserId: 7,
      sipCallId: "abc@host",
      direction: "outbound" as const,
      phoneNumber: "+74950000000",
      startedAt: new Date(),
    };
    const a = await repo.recordStart(start);
    const b = await repo.recordStart(start);
    assert(a.created && !b.created);
    assertEquals(a.call.id, b.call.id);

    const answeredAt = new Date();
    await repo.recordAnswer(portal.id, 7, "abc@host", answeredAt);
    await repo.recordEnd(portal.id, 7, "abc@host", {
      at: new Date(),
      sipStatus: 200,
      durationSec: 42,
    });
    const second = await repo.recordEnd(portal.id, 7, "abc@host", {
      at: new Date(),
      sipStatus: 486,
      durationSec: 1,
    });
    assertEquals(second?.sipStatus, 200);
    assertEquals(second?.durationSec, 42);

    const [claimed] = await repo.claimDue(10, 60_000);
    assertEquals(claimed.id, a.call.id);
    assertEquals((await repo.claimDue(10, 60_000)).length, 0, "claimed rows are not claimed twice");
    assertEquals(await repo.claimById(a.call.id, 60_000), undefined, "nor by id");
    await repo.markRetry(claimed, "QUERY_LIMIT_EXCEEDED", 0);
    await repo.markRetry(claimed, "a released claim writes nothing", 0);
    const [again] = await repo.claimDue(10, 60_000);
    assertEquals(again.claimTakenOver, false);
    assertEquals(await repo.markRegistered(claimed, "externalCall.0"), undefined, "an old claim");
    assertEquals(
      (await repo.markRegistered(again, "externalCall.1"))?.bitrixCallId,
      "externalCall.1",
    );
    await repo.markFinished(again);
    assertEquals(await repo.countPending(), 0);
    const [row] = await database.db.select().from(calls);
    assertEquals(row.syncState, "synced");
    assertEquals(row.syncAttempts, 1);
    assertNotEquals(row.bitrixCallId, null);
    assertEquals((await repo.list(portal.id, { userId: 7 })).length, 1);
    assertEquals((await repo.list(portal.id, { userId: 8 })).length, 0);
  },
);

testBothEngines(
  "[db] calls: a click-to-call row once per CALL_ID, taken over by the phone's dial",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const click = {
      portalId: portal.id,
      bitrixUserId: 7,
      bitrixCallId: "externalCall.42",
      phoneNumber: "+7 495 000-00-00",
      startedAt: new Date(),
    };
    assertEquals(await repo.recordClickToCall(click), "recorded");
    assertEquals(await repo.recordClickToCall(click), "repeated", "a repeated event adds no row");
    const row = await repo.findByBitrixCallId(portal.id, "externalCall.42");
    assertEquals(row?.sipCallId, clickToCallPlaceholder("externalCall.42"));
    assertEquals([row?.origin, row?.direction, row?.syncState], [
      "click_to_call",
      "outbound",
      "synced",
    ]);
    const dialled = await repo.recordStart({
      portalId: portal.id,
      bitrixUserId: 7,
      sipCallId: "dial@host",
      direction: "outbound",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
    });
    assertEquals(dialled.call.id, row?.id);
    assertEquals(dialled.call.bitrixCallId, "externalCall.42");
  },
);

testBothEngines(
  "[db] calls: a dial for a card that came before its event waits for the event to confirm it",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const start = {
      portalId: portal.id,
      bitrixUserId: 7,
      sipCallId: "early@host",
      direction: "outbound" as const,
      phoneNumber: "84951234567",
      startedAt: new Date(),
      bitrixCallId: "externalCall.77",
    };
    const { call } = await repo.recordStart(start);
    assertEquals([call.origin, call.bitrixCallId, call.registeredInBitrix], [
      "click_to_call",
      "externalCall.77",
      false,
    ]);
    const event = {
      portalId: portal.id,
      bitrixCallId: "externalCall.77",
      phoneNumber: "+74951234567",
      startedAt: new Date(),
    };
    // Another employee's event with that CALL_ID does not confirm this user's row.
    assertEquals(await repo.recordClickToCall({ ...event, bitrixUserId: 8 }), "recorded");
    assertEquals((await repo.find(portal.id, 7, "early@host"))?.registeredInBitrix, false);
    assertEquals(await repo.recordClickToCall({ ...event, bitrixUserId: 7 }), "confirmed");
    const confirmed = await repo.find(portal.id, 7, "early@host");
    assertEquals(confirmed?.registeredInBitrix, true);
    assertEquals((await repo.list(portal.id, { userId: 7 })).length, 1, "no second row");
  },
);

testBothEngines(
  "[db] calls: a phone cannot take over another user's click-to-call",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    await repo.recordClickToCall({
      portalId: portal.id,
      bitrixUserId: 7,
      bitrixCallId: "externalCall.9",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
    });
    const { call } = await repo.recordStart({
      portalId: portal.id,
      bitrixUserId: 8,
      sipCallId: "thief@host",
      direction: "outbound",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
      bitrixCallId: "externalCall.9",
    });
    assertEquals(call.bitrixUserId, 8);
    assertEquals(call.registeredInBitrix, false);
    const original = await repo.findByBitrixCallId(portal.id, "externalCall.9", 7);
    assertEquals(original?.sipCallId, clickToCallPlaceholder("externalCall.9"), "still undialled");
    assertEquals(original?.bitrixUserId, 7);
  },
);

testBothEngines(
  "[db] calls: each user's leg of one SIP Call-ID is its own row",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const leg = (bitrixUserId: number, direction: "inbound" | "outbound") => ({
      portalId: portal.id,
      bitrixUserId,
      sipCallId: "shared@proxy",
      direction,
      phoneNumber: "1003",
      startedAt: new Date(),
    });
    const claimedFirst = await repo.recordStart(leg(8, "inbound"));
    const own = await repo.recordStart(leg(7, "outbound"));
    assert(claimedFirst.created && own.created, "the colleague's claim blocks nobody");
    assertNotEquals(own.call.id, claimedFirst.call.id);
    assertEquals(own.call.bitrixUserId, 7);
    await repo.recordEnd(portal.id, 7, "shared@proxy", {
      at: new Date(),
      sipStatus: 200,
      durationSec: 3,
    });
    assertEquals((await repo.find(portal.id, 7, "shared@proxy"))?.sipStatus, 200);
    assertEquals((await repo.find(portal.id, 8, "shared@proxy"))?.endedAt, null);
  },
);

testBothEngines(
  "[db] calls: a CALL_ID is another user's only once the portal confirmed it for them",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    await repo.recordStart({
      portalId: portal.id,
      bitrixUserId: 8,
      sipCallId: "claim@host",
      direction: "outbound",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
      bitrixCallId: "externalCall.5",
    });
    assert(!await repo.isAnotherUsersCall(portal.id, "externalCall.5", 7), "an unconfirmed claim");
    await repo.recordClickToCall({
      portalId: portal.id,
      bitrixUserId: 7,
      bitrixCallId: "externalCall.5",
      phoneNumber: "+74950000000",
      startedAt: new Date(),
    });
    assert(await repo.isAnotherUsersCall(portal.id, "externalCall.5", 8));
    assert(!await repo.isAnotherUsersCall(portal.id, "externalCall.5", 7));
  },
);

testBothEngines(
  "[db] calls: a user's report load counts live calls and recent starts",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const start = (sipCallId: string, bitrixUserId = 7, startedAt = new Date()) =>
      repo.recordStart({
        portalId: portal.id,
        bitrixUserId,
        sipCallId,
        direction: "outbound",
        phoneNumber: "+74950000000",
        startedAt,
      });
    await start("live@host");
    await start("ended@host");
    await repo.recordEnd(portal.id, 7, "ended@host", {
      at: new Date(),
      sipStatus: 200,
      durationSec: 1,
    });
    await start("old@host", 7, new Date(Date.now() - 3_600_000));
    await start("other@host", 8);
    await repo.recordClickToCall({
      portalId: portal.id,
      bitrixUserId: 7,
      bitrixCallId: "externalCall.3",
      phoneNumber: "+74951111111",
      startedAt: new Date(),
    });
    const since = (ms: number) => new Date(Date.now() - ms);
    assertEquals(
      await repo.reportLoad(portal.id, 7, {
        liveSince: since(7_200_000),
        startsSince: since(60_000),
      }),
      { live: 2, starts: 2 },
    );
    assertEquals(
      await repo.reportLoad(portal.id, 7, { liveSince: since(60_000), startsSince: since(60_000) }),
      { live: 1, starts: 2 },
    );
  },
);

testBothEngines(
  "[db] calls: a burst of concurrent starts stops at the user's limit",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const limits = { liveCalls: 3, liveWindowMs: 3_600_000, startsPerMinute: 5 };
    const start = (sipCallId: string, bitrixUserId: number) =>
      repo.recordStartWithin({
        portalId: portal.id,
        bitrixUserId,
        sipCallId,
        direction: "outbound",
        phoneNumber: "+74950000000",
        startedAt: new Date(),
      }, limits);
    const burst = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => start(`burst-${i}@host`, 7)),
      start("other@host", 8),
    ]);
    const refused = burst.map((r) => "refused" in r ? r.refused : "stored");
    assertEquals(refused.filter((r) => r === "stored").length, 4, "three of 7's and 8's one");
    assertEquals(refused.filter((r) => r === "live_calls").length, 5);
    assertEquals(refused.at(-1), "stored");
    for (let i = 0; i < 8; i++) {
      await repo.recordEnd(portal.id, 7, `burst-${i}@host`, {
        at: new Date(),
        sipStatus: 200,
        durationSec: 1,
      });
    }
    assert(!("refused" in await start("after-1@host", 7)));
    assert(!("refused" in await start("after-2@host", 7)));
    assertEquals(await start("after-3@host", 7), { refused: "starts_per_minute" });
  },
);

testBothEngines(
  "[db] calls: users take turns in the sync queue",
  async ({ database, box }) => {
    const { portal } = await new PortalRepo(database.db, box).upsertInstall(install());
    const repo = new CallRepo(database.db);
    const start = (sipCallId: string, bitrixUserId: number) =>
      repo.recordStart({
        portalId: portal.id,
        bitrixUserId,
        sipCallId,
        direction: "outbound",
        phoneNumber: "+74950000000",
        startedAt: new Date(),
      });
    for (let i = 0; i < 12; i++) await start(`flood-${i}@host`, 7);
    const other = await start("mine@host", 8);
    const third = await start("yours@host", 9);
    const claimed = await repo.claimDue(3, 60_000);
    assertEquals(claimed.map((c) => c.bitrixUserId).sort(), [7, 8, 9]);
    assert(
      claimed.some((c) => c.id === other.call.id) && claimed.some((c) => c.id === third.call.id),
    );
    assertEquals(
      (await repo.claimDue(20, 60_000)).length,
      0,
      "a portal being served is left alone",
    );
    for (const c of claimed) await repo.markFinished(c);
    const rest = await repo.claimDue(20, 60_000, { perPortal: 5 });
    assertEquals(rest.length, 5, "then the rest, at most `perPortal` a pass");
  },
);

Deno.test("[db] sameNumber compares E.164 with a national form", () => {
  assert(sameNumber("+74951234567", "8 (495) 123-45-67"));
  assert(sameNumber("1003", "1003"));
  assert(!sameNumber("1003", "91003"));
  assert(!sameNumber("+74951234567", "+74951234568"));
});

testBothEngines("[db] withLock serialises holders of the same key", async ({ database }) => {
  const order: string[] = [];
  const hold = (name: string, ms: number) =>
    database.withLock("refresh:m-1", async () => {
      order.push(`${name}+`);
      await sleep(ms);
      order.push(`${name}-`);
    });
  await Promise.all([hold("a", 50), hold("b", 0)]);
  assertEquals(order, ["a+", "a-", "b+", "b-"]);
});
