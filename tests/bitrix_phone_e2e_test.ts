/**
 * The whole product end to end in Chromium: the portal emulator's pages (cross-site frames,
 * the frame protocol, the call card), the app on PostgreSQL, Kamailio, and a second browser as
 * the far party. Runs inside the loopback-only network namespace like the phone tests.
 */
import type { Frame, Page } from "playwright-core";
import { assert, assertEquals } from "./support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "./support/bitrix.ts";
import { launchChromium } from "./support/chromium.ts";
import { noPostgres, startPostgres } from "./support/postgres.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { phoneTest } from "./phone/gate.ts";
import { phoneBundles, PhonePage, startPageServer } from "./phone/harness.ts";
import { inboundBytes, recordPeerConnections } from "./support/webrtc.ts";
import { sleep, waitFor } from "./support/wait.ts";

const ADMIN = 1;
const ANNA = 2;
/** A colleague without phones in the profile (the card gives a transfer to him as a number). */
const JOHN = 3;
/** A colleague with a work phone (the card gives "internal call" as the string of her id). */
const EMILY = 4;

async function audioGrows(frame: Frame, what: string) {
  const start = await inboundBytes(frame);
  await waitFor(what, async () => (await inboundBytes(frame)) > start + 2000, {
    timeoutMs: 15_000,
    intervalMs: 250,
  });
}

/** The worker frame that owns media for the page (the one with a live peer connection). */
function mediaFrame(page: Page): Promise<Frame> {
  return waitFor("the worker frame with the call's media", async () => {
    for (const frame of page.frames()) {
      if (!frame.url().includes("/placement/background")) continue;
      const live = await frame.evaluate(() =>
        (globalThis as unknown as { __pcs?: RTCPeerConnection[] }).__pcs?.some((pc) =>
          pc.connectionState !== "closed"
        ) ?? false
      ).catch(() => false);
      if (live) return frame;
    }
    return undefined;
  }, { timeoutMs: 15_000, intervalMs: 200 });
}

function finishes(h: BitrixHarness) {
  return h.portal.records.calls("telephony.externalcall.finish").filter((c) => c.status === 200);
}

function registrations(h: BitrixHarness) {
  return h.portal.records.calls("telephony.externalcall.register").filter((c) => c.status === 200);
}

/** The `n`-th successful finish (1-based), once it arrived. */
async function nthFinish(h: BitrixHarness, n: number, what: string) {
  await waitFor(`finish of ${what}`, () => Promise.resolve(finishes(h).length >= n || undefined), {
    timeoutMs: 15_000,
  });
  return finishes(h)[n - 1].params;
}

const card = (state: string) => `[data-testid=call-card][data-ui-state=${state}]`;

phoneTest(
  "[e2e] install, assign, click-to-call in both orders, dial from the app, transfer, decline, incoming, missed, mobile (dialled through the push channel)",
  async () => {
    const pg = noPostgres ? undefined : await startPostgres();
    try {
      await using kamailio = await startKamailio();
      await using h = await startBitrixHarness({
        databaseUrl: pg?.url,
        portal: { hostname: "127.0.0.2", language: "en", installed: false },
      });
      await using browser = await launchChromium();
      await using far = startPageServer(await phoneBundles());
      h.portal.state.users.update(EMILY, { workPhone: "+7 495 000-00-04" });

      // 1. The admin installs the app from the portal, then assigns SIP accounts in its admin panel.
      const admin = await (await browser.newContext()).newPage();
      await h.portal.installApp({ handlerUrl: `${h.app.url}/install` });
      await admin.goto(h.portal.pageUrl({ userId: ADMIN, workers: false }));
      await admin.waitForURL(/install_finished=Y/, { timeout: 20_000 });
      assert(h.portal.app.installed);
      await admin.goto(h.portal.pageUrl({ userId: ADMIN, placement: "DEFAULT", workers: false }));
      const app = await waitFor(
        "the app frame",
        () => Promise.resolve(admin.frames().find((f) => f.url().startsWith(h.app.url))),
      );
      await app.waitForSelector("[data-island=Admin][data-hydrated='1']");
      await app.click("role=tab[name='App credentials']");
      await app.fill("input[name=clientId]", h.portal.app.clientId);
      await app.fill("input[name=secretId]", h.portal.app.clientSecret);
      await app.click("form >> text=Save");
      await app.waitForSelector("text=Credentials saved");
      await app.click("role=tab[name='Employees']");
      const assign = async (userId: number, user: string) => {
        const row = `[data-testid=employee-${userId}]`;
        await app.click(`${row} >> text=Edit`);
        await app.fill(`${row} input[name=url]`, kamailio.wsUrl);
        await app.fill(`${row} input[name=user]`, user);
        await app.fill(`${row} input[name=password]`, "secret");
        await app.fill(`${row} input[name=sipUri]`, `sip:${user}@test.local`);
        await app.click(`${row} button[type=submit]`);
        await app.waitForSelector(`${row} >> text=sip:${user}@test.local`);
      };
      await assign(ANNA, "1002");
      await assign(JOHN, "1004");
      await assign(EMILY, "1005");

      // 2. The employee's portal tab: the background worker registers her phone.
      const annaContext = await browser.newContext();
      await annaContext.addInitScript(recordPeerConnections);
      const anna = await annaContext.newPage();
      if (Deno.env.get("E2E_VERBOSE")) {
        anna.on("console", (m) => console.log(`[anna] ${m.text()}`));
        anna.on("pageerror", (e) => console.log(`[anna] page error ${e.message} ${e.stack}`));
      }
      await anna.goto(h.portal.pageUrl({ userId: ANNA }));
      await waitFor("1002 registered", async () => (await kamailio.contacts("1002")) === 1, {
        timeoutMs: 20_000,
      });

      // The far parties: plain phones in their own browser contexts.
      const farPhone = async (name: string, user: string) => {
        const phone = await PhonePage.open(
          await (await browser.newContext()).newPage(),
          far.origin,
          name,
        );
        await phone.register(user, kamailio.wsUrl);
        return phone;
      };
      const bob = await farPhone("bob", "1003");
      /** Dialogs Kamailio saw INVITEd to `user` (an INVITE repeated with credentials is one). */
      const invitesTo = (user: string) =>
        new Set(
          [
            ...kamailio.log().matchAll(
              new RegExp(`REQ INVITE sip:${user}@\\S+ .* call-id=(\\S+)`, "g"),
            ),
          ]
            .map((m) => m[1]),
        ).size;
      const hangUpAll = (p: PhonePage) =>
        p.run((ph) =>
          Promise.all(ph.calls.map((c: { id: string }) => ph.hangup(c.id).catch(() => {})))
        );

      // 3. Click-to-call from the emulated CRM: the card opens, the worker dials, Bob answers.
      await anna.fill("[data-testid=crm-dial-input]", "1003");
      await anna.click("[data-testid=crm-dial-call]");
      const ringing = await bob.waitForCall("incoming", "inbound", 20_000);
      await anna.waitForSelector(card("connectingOutgoing"));
      await bob.run((p, id) => p.answer(id), ringing.id);
      await anna.waitForSelector(card("connected"));
      await anna.waitForSelector("[data-testid=call-card][data-timer=running]");
      const annaMedia = await mediaFrame(anna);
      await audioGrows(annaMedia, "audio at Anna");
      const bobCall = (await bob.state()).calls.find((c) => c.state === "connected")!;
      const bobBefore = (await bob.stats(bobCall.id))?.bytesReceived ?? 0;
      await waitFor(
        "audio at Bob",
        async () => ((await bob.stats(bobCall.id))?.bytesReceived ?? 0) > bobBefore + 2000,
      );
      await sleep(1200); // a talk time Bitrix24 can see
      await anna.click("[data-testid=call-card-hangup]");
      const outgoing = await nthFinish(h, 1, "the click-to-call");
      assertEquals(String(outgoing.STATUS_CODE), "200");
      assert(Number(outgoing.DURATION) >= 1, `DURATION ${outgoing.DURATION}`);
      assertEquals(registrations(h).length, 0, "a click-to-call is not registered again");
      assertEquals(invitesTo("1003"), 1, "one INVITE for one click");
      // Bitrix24's finish closes the card by itself.
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // 3b. The card before ONEXTERNALCALLSTART, and the CRM's national form of the number
      // (the event says +74951234567): one dial, linked by CALL_ID, no registration.
      const olga = await farPhone("olga", "84951234567");
      h.portal.pages.options.clickToCallOrder = "card-first";
      await anna.fill("[data-testid=crm-dial-input]", "8 (495) 123-45-67");
      await anna.click("[data-testid=crm-dial-call]");
      const atOlga = await olga.waitForCall("incoming", "inbound", 20_000);
      await olga.run((p, id) => p.answer(id), atOlga.id);
      await anna.waitForSelector(card("connected"));
      await sleep(1200);
      await anna.click("[data-testid=call-card-hangup]");
      const national = await nthFinish(h, 2, "the card-first click-to-call");
      assertEquals(String(national.STATUS_CODE), "200");
      assertEquals(registrations(h).length, 0, "linked to the portal's own registration");
      assertEquals(invitesTo("84951234567"), 1);
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });
      h.portal.pages.options.clickToCallOrder = "event-first";

      // 3c. Dialled from the app's own page with the worker loaded: the journal registers it,
      // Bitrix24 raises an outgoing card for it, and the worker binds it instead of dialling.
      await anna.goto(h.portal.pageUrl({ userId: ANNA, placement: "DEFAULT" }));
      const phoneApp = await waitFor("the phone frame", () =>
        Promise.resolve(
          anna.frames().find((f) =>
            f.url().startsWith(h.app.url) && !f.url().includes("/placement/background")
          ),
        ));
      await phoneApp.waitForSelector("[data-island=Phone][data-hydrated='1']");
      await waitFor("1002 registered again", async () => (await kamailio.contacts("1002")) >= 1, {
        timeoutMs: 20_000,
      });
      await phoneApp.fill("input[name=number]", "1003");
      await phoneApp.press("input[name=number]", "Enter");
      const fromApp = await bob.waitForCall("incoming", "inbound", 20_000);
      await anna.waitForSelector(card("connectingOutgoing"), { timeout: 20_000 });
      await bob.run((p, id) => p.answer(id), fromApp.id);
      await anna.waitForSelector(card("connected"));
      await sleep(1200);
      await anna.click("[data-testid=call-card-hangup]");
      const own = await nthFinish(h, 3, "the call dialled from the app");
      assertEquals(String(own.STATUS_CODE), "200");
      assertEquals(registrations(h).length, 1, "one call in Bitrix24");
      assertEquals(invitesTo("1003"), 2, "dialled once, not again by the card");
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });
      await anna.goto(h.portal.pageUrl({ userId: ANNA }));

      // 4. Transfer from the card to colleagues: John (no phones: the card gives a number) and
      // Emily (a work phone: "internal call" gives the string of her id) → their SIP accounts.
      const john = await farPhone("john", "1004");
      const emily = await farPhone("emily", "1005");
      for (const [colleague, userId, n] of [[john, JOHN, 4], [emily, EMILY, 5]] as const) {
        await anna.fill("[data-testid=crm-dial-input]", "1003");
        await anna.click("[data-testid=crm-dial-call]");
        const second = await bob.waitForCall("incoming", "inbound", 20_000);
        await bob.run((p, id) => p.answer(id), second.id);
        await anna.waitForSelector(card("connected"));
        await anna.click("[data-testid=call-card-transfer]");
        await anna.click(`[data-testid=call-card-transfer-user-${userId}]`);
        const atColleague = await colleague.waitForCall("incoming", "inbound", 20_000);
        await colleague.run((p, id) => p.answer(id), atColleague.id);
        await colleague.waitForCall("connected", "inbound", 20_000);
        assertEquals(String((await nthFinish(h, n, "the transferred call")).STATUS_CODE), "200");
        await hangUpAll(colleague);
        await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });
      }

      // 5. An incoming call: registered as TYPE 2, the card opens, Anna answers from it.
      const callIn = await bob.call("1002");
      await anna.waitForSelector(card("incoming"), { timeout: 20_000 });
      const incomingRegister = registrations(h).at(-1)!;
      assertEquals(String(incomingRegister.params.TYPE), "2");
      await anna.click("[data-testid=call-card-answer]");
      await anna.waitForSelector(card("connected"));
      await audioGrows(await mediaFrame(anna), "audio at Anna (incoming)");
      await bob.run((p, id) => p.hangup(id), callIn.id);
      assertEquals(String((await nthFinish(h, 6, "the incoming call")).STATUS_CODE), "200");
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // 6. Declined from the card: in the incoming state it offers only Answer and Busy.
      const declined = await bob.call("1002");
      await anna.waitForSelector(card("incoming"), { timeout: 20_000 });
      assert(await anna.isHidden("[data-testid=call-card-hangup]"), "no hang-up while ringing");
      await anna.click("[data-testid=call-card-skip]");
      await bob.waitFor(
        (s) => s.calls.some((c) => c.state === "ended" && c.sipStatus === 486),
        10_000,
      );
      assert(!(await bob.state()).calls.some((c) => c.id === declined.id && c.state !== "ended"));
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });
      const busy = await nthFinish(h, 7, "the declined call");
      assertEquals([String(busy.STATUS_CODE), String(busy.DURATION)], ["486", "0"]);

      // 7. A missed call: Bob gives up before anyone answers → 304.
      const missed = await bob.call("1002");
      await anna.waitForSelector(card("incoming"), { timeout: 20_000 });
      await bob.run((p, id) => p.hangup(id), missed.id);
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" }); // closed by the app
      const missedFinish = await nthFinish(h, 8, "the missed call");
      assertEquals([String(missedFinish.STATUS_CODE), String(missedFinish.DURATION)], [
        "304",
        "0",
      ]);

      // 8. A click-to-call from the Bitrix24 mobile app raises no card: Anna's browser phone is
      // online (its push stream), so it dials the number itself, linked to Bitrix24's CALL_ID
      // (nobody has that number here: the PBX refuses it, and that is how it is finished).
      const registeredBefore = registrations(h).length;
      const mobile = await h.portal.clickToCall({
        userId: ANNA,
        phoneNumber: "+7 (495) 765-43-21",
        isMobile: true,
      });
      const mobileFinish = await nthFinish(h, 9, "the mobile click-to-call");
      assertEquals(mobileFinish.CALL_ID, mobile.callId);
      assertEquals(invitesTo("\\+?7?4957654321"), 1, "dialled once by the browser phone");
      assert(String(mobileFinish.STATUS_CODE) !== "200", String(mobileFinish.STATUS_CODE));
      assertEquals(registrations(h).length, registeredBefore, "not registered again");
      await Promise.all([bob, olga, john, emily].map(hangUpAll));
    } finally {
      await pg?.close();
    }
  },
);
