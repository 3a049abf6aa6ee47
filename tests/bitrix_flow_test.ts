/**
 * The Bitrix24 server side end to end over HTTP: the portal emulator, the app and a real
 * PostgreSQL server (PGlite when PostgreSQL is absent on a developer machine).
 */
import { assert, assertEquals, assertMatch } from "./support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "./support/bitrix.ts";
import {
  noPostgres,
  startPostgres,
  startPostgresIfInstalled,
  type TestPostgres,
} from "./support/postgres.ts";
import { startPortal } from "../dev/portal/mod.ts";
import { generateKey } from "../lib/server/secrets/crypto.ts";
import { tokenUrlFor } from "../lib/server/bitrix/oauth.ts";
import { eq } from "drizzle-orm";
import { calls as callsTable, portals, sipAccounts } from "../lib/server/db/schema.ts";
import { sleep } from "./support/wait.ts";
import { readJson } from "./support/http.ts";

const ADMIN = 1;
const ANNA = 2;
const JOHN = 3;

async function withHarness(fn: (h: BitrixHarness, pg?: TestPostgres) => Promise<void>) {
  await using pg = await startPostgresIfInstalled();
  await using h = await startBitrixHarness({ databaseUrl: pg?.url });
  await fn(h, pg);
}

const account = {
  url: "wss://pbx.example.com/ws",
  user: "102",
  password: "anna-SIP-pass",
  displayName: "Анна",
};

async function installWithAccounts(h: BitrixHarness) {
  assertEquals((await h.install()).status, 200);
  const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
  assertEquals((await h.widget(ADMIN, { event: "UPDATECREED", ...creds })).status, 200);
  const saved = await readJson(
    await h.widget(ADMIN, { event: "SAVEUSERDATA", userId: ANNA, ...account }),
  );
  assertEquals(saved.status, 200);
}

const options = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "[bitrix] install → events → widget → calls → uninstall",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      const { portal, app } = h;
      await installWithAccounts(h);

      // Install bound what the phone needs, once.
      const binds = portal.records.calls("placement.bind").map((c) => c.params.PLACEMENT);
      assertEquals(binds.sort(), ["LEFT_MENU", "PAGE_BACKGROUND_WORKER"]);
      const worker = portal.records.calls("placement.bind").find((c) =>
        c.params.PLACEMENT === "PAGE_BACKGROUND_WORKER"
      )!;
      assertMatch(
        String((worker.params.OPTIONS as Record<string, string>).errorHandlerUrl),
        /\/api\/bitrix\/placement-error\?member_id=/,
      );
      const bound = portal.records.calls("event.bind").map((c) => c.params.event).sort();
      assertEquals(bound, ["ONAPPINSTALL", "ONAPPUNINSTALL", "ONAPPUPDATE", "ONEXTERNALCALLSTART"]);
      assertEquals(portal.records.events("ONAPPINSTALL")[0].status, 200);

      // A repeated install leaves exactly one of each binding.
      assertEquals((await h.install()).status, 200);
      assertEquals(portal.state.eventHandlers.length, 4);
      assertEquals(portal.state.placements.length, 2);
      assertEquals(portal.records.calls("telephony.externalLine.add").length, 1);
      assertEquals((await app.services.database.db.select().from(portals)).length, 1);

      // Frame tokens are checked with the portal once, then cached.
      const asked = portal.records.calls("app.info").length;
      for (let i = 0; i < 3; i++) await h.widget(ANNA, { event: "GETME" });
      assertEquals(portal.records.calls("app.info").length, asked + 1);

      // Widget: the owner gets the password, the admin only sees that there is one.
      const me = await readJson(await h.widget(ANNA, { event: "GETME" }));
      assertEquals(me.body.account.password, "anna-SIP-pass");
      assertEquals(me.body.isAdmin, false);
      const adminView = await readJson(
        await h.widget(ADMIN, { event: "GETUSERDATA", userId: ANNA }),
      );
      assertEquals(adminView.body.account.hasPassword, true);
      assertEquals("password" in adminView.body.account, false);
      const list = await readJson(
        await h.widget(ADMIN, { event: "GETUSERSDATA", usersId: [ANNA, JOHN] }),
      );
      assertEquals(list.body.accounts.length, 1);

      // Calls: start → answer → end lands in Bitrix24 with the SIP Call-ID.
      const sipCallId = "a84b4c76e66710@pbx.example.com";
      const start = await readJson(
        await h.calls(ANNA, {
          body: { phase: "start", sipCallId, direction: "outbound", number: "+74951234567" },
        }),
      );
      assertEquals(start.status, 200);
      assertMatch((await h.synced(ANNA, sipCallId))?.bitrixCallId ?? "", /^externalCall\./);
      await h.calls(ANNA, { body: { phase: "answer", sipCallId } });
      const end = await readJson(
        await h.calls(ANNA, { body: { phase: "end", sipCallId, sipStatus: 200, durationSec: 42 } }),
      );
      assertEquals([end.status, end.body.call.endedAt !== null], [200, true], "stored at once");
      assertEquals((await h.synced(ANNA, sipCallId))?.syncState, "synced");
      const [register] = portal.records.calls("telephony.externalcall.register");
      assertEquals(register.params.EXTERNAL_CALL_ID, sipCallId);
      assertEquals(String(register.params.TYPE), "1");
      assertEquals(String(register.params.USER_ID), String(ANNA));
      const [finish] = portal.records.calls("telephony.externalcall.finish");
      assertEquals(String(finish.params.DURATION), "42");
      assertEquals(String(finish.params.STATUS_CODE), "200");
      assertEquals(finish.status, 200);

      // A retried report is idempotent.
      await h.calls(ANNA, { body: { phase: "end", sipCallId, sipStatus: 200, durationSec: 42 } });
      await h.synced(ANNA, sipCallId);
      assertEquals(portal.records.calls("telephony.externalcall.finish").length, 1);

      // History: own calls; another user sees none; admins may see all.
      assertEquals((await readJson(await h.calls(ANNA))).body.calls.length, 1);
      assertEquals((await readJson(await h.calls(JOHN))).body.calls.length, 0);
      assertEquals((await readJson(await h.calls(JOHN, { query: "all=1" }))).status, 403);
      assertEquals((await readJson(await h.calls(ADMIN, { query: "all=1" }))).body.calls.length, 1);

      // Click-to-call: Bitrix24's CALL_ID is finished, not registered again.
      const { callId } = await portal.clickToCall({ userId: ANNA, phoneNumber: "+74957654321" });
      const clickSip = "click-1@pbx.example.com";
      await h.calls(ANNA, {
        body: {
          phase: "start",
          sipCallId: clickSip,
          direction: "outbound",
          number: "+74957654321",
          bitrixCallId: callId,
        },
      });
      await h.calls(ANNA, {
        body: { phase: "end", sipCallId: clickSip, sipStatus: 486, durationSec: 0 },
      });
      await h.synced(ANNA, clickSip);
      assertEquals(portal.records.calls("telephony.externalcall.register").length, 1);
      const clickFinish = portal.records.calls("telephony.externalcall.finish")[1];
      assertEquals(clickFinish.params.CALL_ID, callId);
      assertEquals(String(clickFinish.params.STATUS_CODE), "486");

      // A click-to-call nobody dials is finished as cancelled after a while.
      const undialled = await portal.clickToCall({ userId: ANNA, phoneNumber: "+74950000001" });
      await app.services.database.db.update(callsTable).set({
        createdAt: new Date(Date.now() - 3600_000),
      }).where(eq(callsTable.bitrixCallId, undialled.callId));
      await app.services.bitrix.callSync.runOnce();
      for (let pass = 0; pass < 20 && await app.services.calls.countPending() > 0; pass++) {
        await sleep(200); // the portal's rate limit drains
        await app.services.bitrix.callSync.runOnce();
      }
      const cancelled = portal.records.calls("telephony.externalcall.finish")
        .find((c) => c.params.CALL_ID === undialled.callId && c.status === 200);
      assertEquals(String(cancelled?.params.STATUS_CODE), "603-S");

      // Uninstall with CLEAN removes the portal's data; the old application token (verified
      // moments ago, so remembered) is refused from then on.
      const oldToken = portal.app.applicationToken;
      await portal.uninstallApp({ clean: true });
      assertEquals(portal.records.events("ONAPPUNINSTALL")[0].status, 200);
      const afterUninstall = await portal.deliverEvent({
        url: `${app.url}/api/bitrix/callback`,
        event: "ONEXTERNALCALLSTART",
        data: { PHONE_NUMBER: "+74950000002", USER_ID: ANNA, CALL_ID: "externalCall.late" },
        applicationToken: oldToken,
      });
      assertEquals(afterUninstall.status, 401);
      assertEquals((await app.services.database.db.select().from(portals)).length, 0);
      assertEquals((await app.services.database.db.select().from(sipAccounts)).length, 0);
      assertEquals((await app.services.database.db.select().from(callsTable)).length, 0);
      assertEquals((await h.widget(ADMIN, { event: "GETME" })).status, 401);
    }),
});

Deno.test({
  name: "[bitrix] forged events, forged member_id, other users' data, non-admins",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      const { portal, app } = h;
      await installWithAccounts(h);
      const db = app.services.database.db;
      const before = JSON.stringify(await db.select().from(portals));

      const forged = await portal.deliverEvent({
        url: `${app.url}/api/bitrix/callback`,
        event: "ONAPPUNINSTALL",
        data: { CLEAN: "1" },
        applicationToken: "forged-token",
      });
      assertEquals(forged.status, 401);
      const forgedInstall = await portal.deliverEvent({
        url: `${app.url}/api/bitrix/install`,
        event: "ONAPPINSTALL",
        data: {},
        applicationToken: "forged-token",
        userId: null,
      });
      assertEquals(forgedInstall.status, 401);
      assertEquals(JSON.stringify(await db.select().from(portals)), before);

      // A forged member_id: the token is checked against the stored portal of that member.
      const res = await fetch(`${app.url}/api/bitrix/widget`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${portal.issueTokens({ userId: ADMIN }).accessToken}`,
          "x-member-id": "0123456789abcdef0123456789abcdef",
          "content-type": "application/json",
        },
        body: JSON.stringify({ event: "GETME" }),
      });
      assertEquals(res.status, 401);
      assertEquals((await h.widget(ADMIN, { event: "GETME" })).status, 200);

      // A made-up token for the right member: refused, and the refusal is remembered.
      const fake = () =>
        fetch(`${app.url}/api/bitrix/widget`, {
          method: "POST",
          headers: {
            authorization: "Bearer not-a-real-token",
            "x-member-id": portal.memberId,
            "content-type": "application/json",
          },
          body: JSON.stringify({ event: "GETME" }),
        }).then((r) => (r.body?.cancel(), r.status));
      const asked = portal.records.calls("batch").length;
      assertEquals([await fake(), await fake(), await fake()], [401, 401, 401]);
      assertEquals(portal.records.calls("batch").length, asked + 1);

      // Another user's account and admin-only events.
      const other = await readJson(await h.widget(JOHN, { event: "GETUSERDATA", userId: ANNA }));
      assertEquals(other.status, 403);
      assertEquals(JSON.stringify(other.body).includes("anna-SIP-pass"), false);
      for (
        const body of [
          { event: "UPDATECREED", clientId: "local.x", secretId: "y" },
          { event: "SAVEUSERDATA", userId: JOHN, ...account },
          { event: "GETUSERSDATA", usersId: [ANNA] },
          { event: "DELETEUSERDATA", userId: ANNA },
          { event: "GETPORTALUSERS" },
        ]
      ) {
        assertEquals((await h.widget(JOHN, body)).status, 403, body.event);
      }
      // A user may not report calls as someone else.
      await h.calls(ANNA, {
        body: { phase: "start", sipCallId: "x@y", direction: "inbound", number: "+7" },
      });
      assertEquals(
        (await h.calls(JOHN, {
          body: { phase: "end", sipCallId: "x@y", sipStatus: 200, durationSec: 1 },
        })).status,
        404,
      );
      // Bitrix24 refused that call's number for good: kept, given up, not retried forever.
      const refused = await h.synced(ANNA, "x@y");
      assertEquals(refused?.syncState, "failed");
      const portalId = (await app.services.portals.findByMemberId(portal.memberId))!.id;
      const refusedRow = await app.services.calls.find(portalId, ANNA, "x@y");
      assertMatch(refusedRow?.lastSyncError ?? "", /ERROR_CORE/);
      const [anna] = await db.select().from(sipAccounts);
      assert(!anna.passwordEnc.includes("anna-SIP-pass"));
    }),
});

Deno.test({
  name: "[bitrix] malformed bodies get 4xx JSON and store nothing",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      const { app } = h;
      await installWithAccounts(h);
      const db = app.services.database.db;
      const snapshot = async () =>
        JSON.stringify([
          await db.select().from(portals),
          await db.select().from(sipAccounts),
          await db.select().from(callsTable),
        ]);
      const before = await snapshot();
      const form = { "content-type": "application/x-www-form-urlencoded" };
      const cases: [string, RequestInit][] = [
        ["/api/bitrix/callback", { method: "POST", headers: form, body: "event=ONAPPUNINSTALL" }],
        ["/api/bitrix/callback", { method: "POST", headers: form, body: "__proto__[x]=1" }],
        ["/api/bitrix/callback", { method: "POST", body: "{}" }],
        ["/api/bitrix/install", {
          method: "POST",
          headers: form,
          body: "event=ONAPPINSTALL&auth[member_id]=%00",
        }],
        ["/api/bitrix/placement-error?member_id=x&token=y", {
          method: "POST",
          headers: form,
          body: "error=E",
        }],
        ["/install", { method: "POST", headers: form, body: "AUTH_ID=x" }],
      ];
      for (const [path, init] of cases) {
        const res = await readJson(await fetch(`${app.url}${path}`, init));
        assert(res.status >= 400 && res.status < 500, `${path} → ${res.status}`);
        assert(typeof res.body.error.code === "string");
      }
      const widgetCases: unknown[] = [
        { event: "NOPE" },
        { event: "SAVEUSERDATA", userId: ANNA, url: "http://evil.example/ws", user: "1" },
        { event: "SAVEUSERDATA", userId: ANNA, ...account, user: "a b" },
        { event: "SAVEUSERDATA", userId: ANNA, ...account, sipUri: "mailto:x" },
        { event: "SAVEUSERDATA", userId: "1; drop table", ...account },
        { event: "SAVEUSERDATA", userId: ANNA, ...account, password: "x".repeat(500) },
        { event: "GETUSERSDATA", usersId: Array(500).fill(1) },
        { event: "SAVESETTINGS", settings: { iceServers: [{ urls: "http://x" }] } },
        "not an object",
      ];
      for (const body of widgetCases) {
        const res = await readJson(await h.widget(ADMIN, body));
        assertEquals(res.status, 400, JSON.stringify(body));
      }
      const badCalls: unknown[] = [
        { phase: "start", sipCallId: "", direction: "outbound", number: "1" },
        { phase: "start", sipCallId: "a", direction: "sideways", number: "1" },
        { phase: "end", sipCallId: "a", sipStatus: 99, durationSec: 1 },
        { phase: "end", sipCallId: "a", sipStatus: 200, durationSec: -1 },
      ];
      for (const body of badCalls) {
        assertEquals((await h.calls(ANNA, { body })).status, 400, JSON.stringify(body));
      }
      assertEquals(await snapshot(), before);
    }),
});

Deno.test({
  name: "[bitrix] 20 concurrent requests on an expired token → exactly one refresh",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      await installWithAccounts(h);
      h.portal.records.clear();
      h.portal.expireAllTokens();
      const results = await Promise.all(
        // Three employees' phones (one phone's live calls are limited).
        Array.from({ length: 20 }, (_, i) =>
          h.calls(ANNA + (i % 3), {
            body: {
              phase: "start",
              sipCallId: `burst-${i}@pbx`,
              direction: "inbound",
              number: `+7495000${i}`,
            },
          }).then(readJson)),
      );
      for (const r of results) assertEquals(r.status, 200);
      // Calls the portal's rate limit (or the 3 s answer budget) left pending are synced next.
      const { calls, bitrix } = h.app.services;
      for (let pass = 0; pass < 50 && await calls.countPending() > 0; pass++) {
        await bitrix.callSync.runOnce();
        await sleep(100);
      }
      assertEquals(await calls.countPending(), 0);
      const refreshes = h.portal.records.oauth().filter((o) => o.grantType === "refresh_token");
      assertEquals(refreshes.length, 1);
      assertEquals(refreshes[0].status, 200);
      const registered = h.portal.records.calls("telephony.externalcall.register")
        .filter((c) => c.status === 200).map((c) => c.params.EXTERNAL_CALL_ID);
      assertEquals(new Set(registered).size, 20);
    }),
});

Deno.test({
  name: "[bitrix] a 503 / rate-limit storm, then a restart: every call synced exactly once",
  ignore: noPostgres,
  ...options,
  async fn() {
    const pg = (await startPostgres())!;
    try {
      const key = generateKey();
      const h = await startBitrixHarness({ databaseUrl: pg.url, env: { ENCRYPTION_KEY: key } });
      await installWithAccounts(h);
      assertEquals((await h.widget(ANNA, { event: "GETME" })).status, 200); // the phone's page load
      h.portal.records.clear();
      h.portal.setFault({ method: "*", kind: "503", forMs: 60_000 });
      const ids = Array.from({ length: 8 }, (_, i) => `storm-${i}@pbx`);
      for (const sipCallId of ids) {
        await h.calls(ANNA, {
          body: { phase: "start", sipCallId, direction: "outbound", number: "+74951112233" },
        });
        await h.calls(ANNA, { body: { phase: "answer", sipCallId } });
        await h.calls(ANNA, { body: { phase: "end", sipCallId, sipStatus: 200, durationSec: 5 } });
      }
      assertEquals(await h.app.services.calls.countPending(), ids.length);

      // The app restarts while Bitrix24 is still failing; a new instance picks the rows up.
      await h.app.close();
      h.portal.clearFaults();
      h.portal.setFault({ method: "*", kind: "query_limit", times: 5 });
      // (On a fresh port: the old one may be taken by a parallel test meanwhile.)
      await using restarted = await h.anotherInstance();
      const sync = restarted.services.bitrix.callSync;
      // Two concurrent passes, like two instances; rows claimed by the dead instance come back
      // when their claims lapse. A QUERY_LIMIT_EXCEEDED empties the portal's budget, which then
      // refills at Bitrix24's rate (a call a second).
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && await restarted.services.calls.countPending() > 0) {
        await Promise.all([sync.runOnce(), sync.runOnce()]);
        await sleep(100);
      }
      assertEquals(await restarted.services.calls.countPending(), 0);
      const ok = (method: string) => h.portal.records.calls(method).filter((c) => c.status === 200);
      const registered = ok("telephony.externalcall.register").map((c) =>
        c.params.EXTERNAL_CALL_ID
      );
      assertEquals(registered.sort(), [...ids].sort());
      const finished = ok("telephony.externalcall.finish").map((c) => c.params.CALL_ID);
      assertEquals(new Set(finished).size, ids.length);
      assertEquals(finished.length, ids.length);
      await h.portal.close();
    } finally {
      await pg.close();
    }
  },
});

Deno.test({
  name: "[bitrix] two app instances, one PostgreSQL, expired token → exactly one refresh",
  ignore: noPostgres,
  ...options,
  async fn() {
    const pg = (await startPostgres())!;
    try {
      const key = generateKey();
      await using h = await startBitrixHarness({
        databaseUrl: pg.url,
        env: { ENCRYPTION_KEY: key },
      });
      await installWithAccounts(h);
      await using second = await h.anotherInstance();
      const portal = (await second.services.portals.findByMemberId(h.portal.memberId))!;
      const first = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
      // Both instances hold a client with the same (soon expired) token pair.
      const clients = [
        await h.app.services.bitrix.clients.forPortal(first),
        await second.services.bitrix.clients.forPortal(portal),
      ];
      h.portal.records.clear();
      h.portal.expireAllTokens();
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => clients[i % 2].call("user.current")),
      );
      assertEquals(answers.length, 10);
      const refreshes = h.portal.records.oauth().filter((o) => o.grantType === "refresh_token");
      assertEquals(refreshes.map((r) => r.status), [200]);
    } finally {
      await pg.close();
    }
  },
});

Deno.test({
  name: "[bitrix] a Market app installs with the README's settings and refreshes with them",
  ...options,
  async fn() {
    const pg = noPostgres ? undefined : await startPostgres();
    try {
      await using h = await startBitrixHarness({
        databaseUrl: pg?.url,
        portal: { app: { type: "market", clientId: "app.1", clientSecret: "s1" } },
        env: {
          BITRIX_APP_CODE: "vendor.sipphone",
          BITRIX_CLIENT_ID: "app.1",
          BITRIX_CLIENT_SECRET: "s1",
        },
      });
      // The portal reports the symbolic code, not the client id.
      assertEquals(h.portal.app.code, "vendor.sipphone");
      assertEquals((await h.install()).status, 200);
      const portal = await h.app.services.portals.findByMemberId(h.portal.memberId);
      assertEquals(portal?.appKind, "marketplace");
      h.portal.expireAllTokens();
      const list = await readJson(await h.widget(ADMIN, { event: "GETPORTALUSERS" }));
      assertEquals(list.status, 200);
      // One refresh confirmed the new portal at install, one renewed the expired token.
      assertEquals(h.portal.records.oauth().map((o) => [o.clientId, o.status]), [
        ["app.1", 200],
        ["app.1", 200],
      ]);
    } finally {
      await pg?.close();
    }
  },
});

Deno.test({
  name: "[bitrix] admin search uses NAME_SEARCH; the CRM setting follows onto the external line",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      await installWithAccounts(h);
      const found = await readJson(
        await h.widget(ADMIN, { event: "GETPORTALUSERS", search: "john" }),
      );
      assertEquals(found.status, 200);
      assertEquals(found.body.users.map((u: { id: number }) => u.id), [JOHN]);

      const line = () => h.portal.state.lines.find((l) => l.number === "webrtc")!;
      assertEquals(line().crmAutoCreate, "Y");
      const settings = { crmCreate: false, showCard: true, usersEditOwnAccount: false };
      const saved = await readJson(await h.widget(ADMIN, { event: "SAVESETTINGS", settings }));
      assertEquals(saved.status, 200);
      assertEquals(line().crmAutoCreate, "N");
      assertEquals(h.portal.records.calls("telephony.externalLine.update").length, 1);
      // Saving again without a change leaves the line alone.
      await h.widget(ADMIN, { event: "SAVESETTINGS", settings: { ...settings, showCard: false } });
      assertEquals(h.portal.records.calls("telephony.externalLine.update").length, 1);
      await h.widget(ADMIN, { event: "SAVESETTINGS", settings: { ...settings, crmCreate: true } });
      assertEquals(line().crmAutoCreate, "Y");
    }),
});

Deno.test({
  name: "[bitrix] PAYMENT_REQUIRED and invalid_client hold calls (long backoff) until lifted",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      await installWithAccounts(h);
      const { calls, bitrix, database, portals: repo, changes } = h.app.services;
      const db = database.db;
      const row = async (sipCallId: string) =>
        (await db.select().from(callsTable).where(eq(callsTable.sipCallId, sipCallId)))[0];
      const makeDue = () => db.update(callsTable).set({ nextSyncAt: new Date() });
      const blocked = async () => (await repo.findByMemberId(h.portal.memberId))?.blockedReason;
      const call = async (sipCallId: string) => {
        await h.calls(ANNA, {
          body: { phase: "start", sipCallId, direction: "outbound", number: "+74951234567" },
        });
        await h.calls(ANNA, { body: { phase: "end", sipCallId, sipStatus: 486, durationSec: 0 } });
        await h.synced(ANNA, sipCallId);
      };
      const adminPage = async () => {
        changes.changed((await repo.findByMemberId(h.portal.memberId))!);
        const res = await fetch(`${h.app.url}/`, {
          method: "POST",
          body: new URLSearchParams({
            AUTH_ID: h.portal.issueTokens({ userId: ADMIN }).accessToken,
            member_id: h.portal.memberId,
            LANG: "en",
          }),
        });
        return await res.text();
      };

      // The subscription lapses: the call waits 15+ minutes, never fails, and the admin is told.
      h.portal.setPaymentExpired(true);
      await call("unpaid-1@pbx");
      let held = await row("unpaid-1@pbx");
      assertEquals([held.syncState, held.lastSyncError], ["pending", "PAYMENT_REQUIRED"]);
      assert(held.nextSyncAt.getTime() - Date.now() > 13 * 60_000, "a long backoff");
      assertEquals(await blocked(), "payment_required");
      assert((await adminPage()).includes("Bitrix24 asks for payment"));
      await db.update(callsTable).set({ syncAttempts: 49 });
      for (let i = 0; i < 5; i++) {
        await makeDue();
        await bitrix.callSync.runOnce();
      }
      held = await row("unpaid-1@pbx");
      assertEquals(held.syncState, "pending", "refusals never use up the row's attempts");
      assertEquals(held.syncAttempts, 49);

      // Renewed: the waiting call arrives and the notice goes.
      h.portal.setPaymentExpired(false);
      await makeDue();
      await bitrix.callSync.runOnce();
      assertEquals((await row("unpaid-1@pbx")).syncState, "synced");
      assertEquals(await blocked(), null);
      assert(!(await adminPage()).includes("Bitrix24 asks for payment"));

      // The OAuth server stops accepting the app: the refresh answers invalid_client.
      h.portal.setInvalidClient(true);
      h.portal.expireAllTokens();
      await call("unknown-app-1@pbx");
      held = await row("unknown-app-1@pbx");
      assertEquals([held.syncState, held.lastSyncError], ["pending", "invalid_client"]);
      assert(held.nextSyncAt.getTime() - Date.now() > 13 * 60_000, "a long backoff");
      assertEquals(await blocked(), "invalid_client");
      h.portal.setInvalidClient(false);
      await makeDue();
      await bitrix.callSync.runOnce();
      assertEquals((await row("unknown-app-1@pbx")).syncState, "synced");
      assertEquals(await blocked(), null);
      assertEquals(await calls.countPending(), 0);
      const finished = h.portal.records.calls("telephony.externalcall.finish")
        .filter((c) => c.status === 200);
      assertEquals(finished.length, 2);
    }),
});

Deno.test({
  name: "[bitrix] a moved portal is followed: redirects are not followed, the refresh's address is",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      await installWithAccounts(h);
      const { portals: repo } = h.app.services;
      const stored = async () => (await repo.findByMemberId(h.portal.memberId))!;
      const before = (await stored()).clientEndpoint;
      const moved = h.portal.movePortal({ status: 302 });
      h.portal.records.clear();

      const sipCallId = "after-move-1@pbx";
      const start = await readJson(
        await h.calls(ANNA, {
          body: { phase: "start", sipCallId, direction: "inbound", number: "+74951234567" },
        }),
      );
      assertEquals(start.status, 200);
      assertMatch((await h.synced(ANNA, sipCallId))?.bitrixCallId ?? "", /^externalCall\./);
      const after = await stored();
      assert(after.clientEndpoint !== before);
      assertEquals(after.clientEndpoint, moved.clientEndpoint);
      assertEquals(after.domain, moved.domain);
      // The old address was asked once, its redirect not followed (no GET without a body
      // reached the portal); one refresh told the new address; the call went there.
      assertEquals(h.portal.records.oauth().map((o) => o.status), [200]);
      const registers = h.portal.records.calls("telephony.externalcall.register");
      assertEquals(registers.map((c) => [c.status, c.params.EXTERNAL_CALL_ID]), [[200, sipCallId]]);

      // The next call goes straight to the new address (no redirect, no refresh).
      await h.calls(ANNA, { body: { phase: "end", sipCallId, sipStatus: 487, durationSec: 0 } });
      await h.synced(ANNA, sipCallId);
      assertEquals(h.portal.records.oauth().length, 1);
      assertEquals(h.portal.records.calls("telephony.externalcall.finish")[0].status, 200);

      // Moved again while five calls start at once: one refresh finds the new address.
      const third = h.portal.movePortal();
      const starts = await Promise.all(Array.from({ length: 5 }, (_, i) =>
        h.calls(ANNA, {
          body: {
            phase: "start",
            sipCallId: `after-move-2-${i}@pbx`,
            direction: "inbound",
            number: "+74951234567",
          },
        }).then(readJson)));
      for (const s of starts) assertEquals(s.status, 200);
      await h.synced(ANNA, "after-move-2-0@pbx");
      assertEquals((await stored()).clientEndpoint, third.clientEndpoint);
      assertEquals(h.portal.records.oauth().length, 2);
      assertEquals(await h.app.services.calls.countPending(), 0);
    }),
});

Deno.test({
  name: "[bitrix] a moved portal's reinstall follows it to its new address",
  ...options,
  fn: () =>
    withHarness(async (h) => {
      await installWithAccounts(h);
      const moved = h.portal.movePortal({ status: 301 });
      assertEquals((await h.install()).status, 200);
      const stored = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
      assertEquals([stored.clientEndpoint, stored.domain], [moved.clientEndpoint, moved.domain]);
      assertEquals((await h.widget(ANNA, { event: "GETME" }, { fresh: true })).status, 200);
    }),
});

Deno.test({
  name:
    "[bitrix] a Russian-region portal's server_endpoint is stored; its token URL is the one refreshes use",
  ...options,
  async fn() {
    await using h = await startBitrixHarness({
      portal: { serverEndpoint: "https://oauth.bitrix24.tech/rest/" },
    });
    assertEquals((await h.install()).status, 200);
    const portal = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
    // From ONAPPINSTALL's auth[server_endpoint] (the installer page's core fields have none).
    assertEquals(portal.serverEndpoint, "https://oauth.bitrix24.tech/rest/");
    assertEquals(
      tokenUrlFor(portal.serverEndpoint, {
        allowedHosts: h.app.services.config.BITRIX_ALLOWED_OAUTH_HOSTS,
      }),
      "https://oauth.bitrix24.tech/oauth/token/",
    );
    // A page POST's SERVER_ENDPOINT outside the allow-list is ignored.
    const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, frameFields: "docs" });
    load.fields.SERVER_ENDPOINT = "https://oauth.evil.example/rest/";
    assertEquals((await load.post()).status, 200);
    const after = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
    assertEquals(after.serverEndpoint, "https://oauth.bitrix24.tech/rest/");
  },
});

Deno.test({
  name: "[bitrix] a marketplace portal's first install is confirmed by the OAuth server",
  ...options,
  async fn() {
    const app = {
      type: "market" as const,
      code: "example.sipphone",
      clientId: "app.1",
      clientSecret: "s1",
    };
    await using h = await startBitrixHarness({
      portal: { app },
      env: {
        BITRIX_APP_CODE: "example.sipphone",
        BITRIX_CLIENT_ID: "app.1",
        BITRIX_CLIENT_SECRET: "s1",
      },
    });
    // Someone runs a fake portal under the real portal's member_id: it answers app.info and
    // user.admin, but the OAuth server does not know its tokens.
    const squatter = await startPortal({
      memberId: h.portal.memberId,
      app,
      rateLimit: false,
    });
    try {
      const { page } = await squatter.installApp({ handlerUrl: `${h.app.url}/install` });
      const res = await page!.post();
      await res.body?.cancel();
      assertEquals(res.status, 401);
      assertEquals(await h.app.services.portals.findByMemberId(h.portal.memberId), undefined);
    } finally {
      await squatter.close();
    }
    // The real portal installs, and is reached at its own address.
    assertEquals((await h.install()).status, 200);
    const stored = await h.app.services.portals.findByMemberId(h.portal.memberId);
    assertEquals(stored?.clientEndpoint, h.portal.clientEndpoint);
  },
});
