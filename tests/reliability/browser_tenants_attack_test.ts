/**
 * Tenants stay apart in the browser (issue 19, point 6). Bitrix24's cloud portals share one site
 * for the browser (`*.bitrix24.ru` is not on the Public Suffix List), so the app frames of two
 * portals, or of two users, share one storage partition: one SharedWorker, one set of channels
 * and locks. Here two emulated portals on one host (ports are not part of a site) and two users
 * of one portal are open in one browser profile, with real SIP through Kamailio: each gets its
 * own engine and registration, a portal's calls reach only that portal's journal, and a page of
 * portal B that opens portal A's engine by its name is refused.
 */
import type { Frame, Page } from "playwright-core";
import { assertEquals, assertMatch } from "../support/assert.ts";
import { type FrameClient, frameClient, startBitrixHarness } from "../support/bitrix.ts";
import { launchChromium } from "../support/chromium.ts";
import { readJson } from "../support/http.ts";
import { waitFor } from "../support/wait.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import { phoneTest } from "../phone/gate.ts";
import { phoneBundles, PhonePage, startPageServer } from "../phone/harness.ts";
import { type Portal, startPortal } from "../../dev/portal/mod.ts";
import { phoneScope } from "../../lib/browser/phone_session.ts";

const ADMIN = 1;
const ANNA = 2;
const JOHN = 3;
/** Both portals' emulators listen here: one site for the browser. */
const PORTAL_HOST = "127.0.0.2";

const card = (state: string) => `[data-testid=call-card][data-ui-state=${state}]`;

/** The page's PAGE_BACKGROUND_WORKER frame. */
function workerFrame(page: Page): Promise<Frame> {
  return waitFor(
    "the background worker frame",
    () => Promise.resolve(page.frames().find((f) => f.url().includes("/placement/background"))),
  );
}

/** Successful REST calls of `method` the portal received. */
function restCalls(portal: Portal, method: string) {
  return portal.records.calls(method).filter((c) => c.status === 200);
}

phoneTest(
  "[attack] two portals and two users in one browser: engines, registrations and journals apart",
  async () => {
    await using kamailio = await startKamailio();
    await using a = await startBitrixHarness({
      portal: { hostname: PORTAL_HOST, language: "en" },
      env: { FRAME_ANCESTORS: `http://${PORTAL_HOST}:*` },
    });
    const portalB = await startPortal({
      hostname: PORTAL_HOST,
      language: "en",
      app: { type: "local" },
      appUrl: `${a.app.url}/`,
      installUrl: `${a.app.url}/install`,
    });
    await using _closeB = { [Symbol.asyncDispose]: () => portalB.close() };
    const b = frameClient(portalB, a.app.url);
    await using browser = await launchChromium();
    await using far = startPageServer(await phoneBundles());

    // Both portals install the app and give their employees SIP accounts; Anna has user id 2 on
    // both portals (another person, the same number).
    const accounts: [FrameClient, number, string][] = [[a, ANNA, "1002"], [a, JOHN, "1004"], [
      b,
      ANNA,
      "1012",
    ]];
    for (const portal of [a, b]) assertEquals((await portal.install()).status, 200);
    for (const [portal, userId, user] of accounts) {
      const saved = await portal.widget(ADMIN, {
        event: "SAVEUSERDATA",
        userId,
        url: kamailio.wsUrl,
        user,
        password: "secret",
        sipUri: `sip:${user}@test.local`,
      });
      assertEquals(saved.status, 200, `account ${user}`);
    }

    // One browser profile: portal A as Anna, portal A as John, portal B as its Anna.
    const context = await browser.newContext();
    const open = async (portal: Portal, userId: number) => {
      const page = await context.newPage();
      page.on("pageerror", (e) => console.error(`[${portal.url} ${userId}] ${e.message}`));
      await page.goto(portal.pageUrl({ userId }));
      return page;
    };
    const annaA = await open(a.portal, ANNA);
    const johnA = await open(a.portal, JOHN);
    const annaB = await open(portalB, ANNA);
    const contacts = () => Promise.all(["1002", "1004", "1012"].map((u) => kamailio.contacts(u)));
    // A shared engine would register one account after the other, each replacing the last.
    await waitFor("each page's own registration", async () => {
      const all = await contacts();
      return all.every((n) => n === 1) || undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });

    // A call to portal A's Anna: her card rings on portal A only; she misses it.
    const bob = await PhonePage.open(
      await (await browser.newContext()).newPage(),
      far.origin,
      "bob",
    );
    await bob.register("1003", kamailio.wsUrl);
    const toAnnaA = await bob.call("1002");
    await annaA.waitForSelector(card("incoming"), { timeout: 20_000 });
    await bob.run((p, id) => p.hangup(id), toAnnaA.id);
    await waitFor(
      "portal A's finish",
      () =>
        Promise.resolve(
          restCalls(a.portal, "telephony.externalcall.finish").length === 1 || undefined,
        ),
      {
        timeoutMs: 20_000,
      },
    );
    // And one to portal B's Anna.
    const toAnnaB = await bob.call("1012");
    await annaB.waitForSelector(card("incoming"), { timeout: 20_000 });
    await bob.run((p, id) => p.hangup(id), toAnnaB.id);
    await waitFor(
      "portal B's finish",
      () =>
        Promise.resolve(
          restCalls(portalB, "telephony.externalcall.finish").length === 1 || undefined,
        ),
      {
        timeoutMs: 20_000,
      },
    );

    // Each portal's journal holds its own call, registered for its own user, and nothing else.
    for (const [portal, number] of [[a.portal, "1002"], [portalB, "1012"]] as const) {
      const registered = restCalls(portal, "telephony.externalcall.register");
      assertEquals(registered.map((c) => String(c.params.USER_ID)), [String(ANNA)], portal.url);
      assertEquals(restCalls(portal, "telephony.externalcall.finish").length, 1, portal.url);
      assertEquals(registered[0].params.PHONE_NUMBER, "1003", `the call to ${number}`);
    }
    const history = async (portal: FrameClient, userId: number) =>
      (await readJson(await portal.calls(userId))).body.calls.map((c: { number: string }) =>
        c.number
      );
    assertEquals(await history(a, ANNA), ["1003"], "portal A's Anna: her call");
    assertEquals(await history(a, JOHN), [], "portal A's John: none");
    assertEquals(await history(b, ANNA), ["1003"], "portal B's Anna: her call only");
    assertEquals(await johnA.$(card("incoming")), null);

    // Portal B's page opens portal A's engine by its very name: refused, no command gets in.
    const scopeA = await phoneScope(a.portal.memberId, ANNA);
    const attempt = await (await workerFrame(annaB)).evaluate(async (name) => {
      const url = "/static/build/phone_tab.js";
      const { connectPhone } = await import(url);
      try {
        const phone = await connectPhone({ name, ringtone: false });
        await phone.register({
          wsUrl: "ws://127.0.0.1:1/",
          sipUri: "sip:1012@test.local",
          authUser: "1012",
          password: "secret",
        });
        return "joined";
      } catch (e) {
        return `${(e as { code?: string }).code}: ${(e as Error).message}`;
      }
    }, `phone-${scopeA}`);
    assertMatch(attempt, /^host-unavailable: .*another portal or user/);
    assertEquals(await contacts(), [1, 1, 1], "every registration stands");
  },
);
