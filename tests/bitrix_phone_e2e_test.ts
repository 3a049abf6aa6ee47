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
import { eventually, phoneBundles, PhonePage, startPageServer } from "./phone/harness.ts";

const ADMIN = 1;
const ANNA = 2;

/** Collects every RTCPeerConnection of every frame, for audio checks from the test. */
function recordPeerConnections() {
  const w = globalThis as unknown as { __pcs: RTCPeerConnection[] };
  w.__pcs = [];
  const Original = RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends Original {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
}

/** Inbound audio bytes over the frame's live peer connections. */
function inboundBytes(frame: Frame): Promise<number> {
  return frame.evaluate(async () => {
    let total = 0;
    for (const pc of (globalThis as unknown as { __pcs: RTCPeerConnection[] }).__pcs) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") total += r.bytesReceived;
      });
    }
    return total;
  });
}

async function audioGrows(frame: Frame, what: string) {
  const start = await inboundBytes(frame);
  await eventually(async () => (await inboundBytes(frame)) > start + 2000, what, 15_000, 250);
}

/** The worker frame that owns media for the page (the one with a live peer connection). */
function mediaFrame(page: Page): Promise<Frame> {
  return eventually(
    async () => {
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
    },
    "the worker frame with the call's media",
    15_000,
    200,
  );
}

function finishes(h: BitrixHarness) {
  return h.portal.records.calls("telephony.externalcall.finish").filter((c) => c.status === 200);
}

phoneTest(
  "[e2e] install, assign, click-to-call from the CRM card, transfer, incoming and missed calls",
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

      // 1. The admin installs the app from the portal, then assigns SIP accounts in its admin panel.
      const admin = await (await browser.newContext()).newPage();
      await h.portal.installApp({ handlerUrl: `${h.app.url}/install` });
      await admin.goto(h.portal.pageUrl({ userId: ADMIN, workers: false }));
      await admin.waitForURL(/install_finished=Y/, { timeout: 20_000 });
      assert(h.portal.app.installed);
      await admin.goto(h.portal.pageUrl({ userId: ADMIN, placement: "DEFAULT", workers: false }));
      const app = await eventually(
        () => Promise.resolve(admin.frames().find((f) => f.url().startsWith(h.app.url))),
        "the app frame",
      );
      await app.waitForSelector("[data-island=Admin][data-hydrated='1']");
      await app.click("role=tab[name='App credentials']");
      await app.fill("input[name=clientId]", h.portal.app.clientId);
      await app.fill("input[name=secretId]", h.portal.app.clientSecret);
      await app.click("form >> text=Save");
      await app.waitForSelector("text=Credentials saved");
      await app.click("role=tab[name='Employees']");
      const row = `[data-testid=employee-${ANNA}]`;
      await app.click(`${row} >> text=Edit`);
      await app.fill(`${row} input[name=url]`, kamailio.wsUrl);
      await app.fill(`${row} input[name=user]`, "1002");
      await app.fill(`${row} input[name=password]`, "secret");
      await app.fill(`${row} input[name=sipUri]`, "sip:1002@test.local");
      await app.click(`${row} button[type=submit]`);
      await app.waitForSelector(`${row} >> text=sip:1002@test.local`);

      // 2. The employee's portal tab: the background worker registers her phone.
      const annaContext = await browser.newContext();
      await annaContext.addInitScript(recordPeerConnections);
      const anna = await annaContext.newPage();
      if (Deno.env.get("E2E_VERBOSE")) {
        anna.on("console", (m) => console.log(`[anna] ${m.text()}`));
        anna.on("pageerror", (e) => console.log(`[anna] page error ${e.message} ${e.stack}`));
      }
      await anna.goto(h.portal.pageUrl({ userId: ANNA }));
      await eventually(
        async () => (await kamailio.contacts("1002")) === 1,
        "1002 registered",
        20_000,
      );

      // The far party: a plain phone registered as 1003 in a second browser context.
      const bob = await PhonePage.open(
        await (await browser.newContext()).newPage(),
        far.origin,
        "bob",
      );
      await bob.register("1003", kamailio.wsUrl);

      // 3. Click-to-call from the emulated CRM: the card opens, the worker dials, Bob answers.
      await anna.fill("[data-testid=crm-dial-input]", "1003");
      await anna.click("[data-testid=crm-dial-call]");
      const ringing = await bob.waitForCall("incoming", "inbound", 20_000);
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=connectingOutgoing]");
      await bob.run((p, id) => p.answer(id), ringing.id);
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=connected]");
      await anna.waitForSelector("[data-testid=call-card][data-timer=running]");
      const annaMedia = await mediaFrame(anna);
      await audioGrows(annaMedia, "audio at Anna");
      const bobCall = (await bob.state()).calls.find((c) => c.state === "connected")!;
      const bobBefore = (await bob.stats(bobCall.id))?.bytesReceived ?? 0;
      await eventually(
        async () => ((await bob.stats(bobCall.id))?.bytesReceived ?? 0) > bobBefore + 2000,
        "audio at Bob",
      );
      await new Promise((r) => setTimeout(r, 1200)); // a talk time Bitrix24 can see
      await anna.click("[data-testid=call-card-hangup]");
      const [outgoing] = await eventually(
        () => Promise.resolve(finishes(h).length ? finishes(h) : undefined),
        "finish of the click-to-call",
        15_000,
      );
      assertEquals(String(outgoing.params.STATUS_CODE), "200");
      assert(Number(outgoing.params.DURATION) >= 1, `DURATION ${outgoing.params.DURATION}`);
      assertEquals(
        h.portal.records.calls("telephony.externalcall.register").filter((c) => c.status === 200)
          .length,
        0,
        "a click-to-call is not registered again",
      );
      await anna.click("[data-testid=call-card][data-ui-state=idle] [data-testid=call-card-close]");
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // 3b. Transfer from the card: Anna calls Bob again and transfers him to Carol (REFER).
      const carol = await PhonePage.open(
        await (await browser.newContext()).newPage(),
        far.origin,
        "carol",
      );
      await carol.register("1004", kamailio.wsUrl);
      await anna.fill("[data-testid=crm-dial-input]", "1003");
      await anna.click("[data-testid=crm-dial-call]");
      const second = await bob.waitForCall("incoming", "inbound", 20_000);
      await bob.run((p, id) => p.answer(id), second.id);
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=connected]");
      await anna.click("[data-testid=call-card-transfer]");
      await anna.fill("[data-testid=call-card-transfer-target]", "1004");
      await anna.click("[data-testid=call-card-transfer-submit]");
      const atCarol = await carol.waitForCall("incoming", "inbound", 20_000);
      await carol.run((p, id) => p.answer(id), atCarol.id);
      await carol.waitForCall("connected", "inbound", 20_000);
      await eventually(
        () => Promise.resolve(finishes(h).length === 2 || undefined),
        "finish of the transferred call",
        15_000,
      );
      assertEquals(String(finishes(h)[1].params.STATUS_CODE), "200");
      await carol.run((p) =>
        Promise.all(p.calls.map((c: { id: string }) => p.hangup(c.id).catch(() => {})))
      );
      await anna.click("[data-testid=call-card][data-ui-state=idle] [data-testid=call-card-close]");
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // 4. An incoming call: registered as TYPE 2, the card opens, Anna answers from it.
      const callIn = await bob.call("1002");
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=incoming]", {
        timeout: 20_000,
      });
      const [register] = h.portal.records.calls("telephony.externalcall.register");
      assertEquals(String(register.params.TYPE), "2");
      await anna.click("[data-testid=call-card-answer]");
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=connected]");
      await audioGrows(await mediaFrame(anna), "audio at Anna (incoming)");
      await bob.run((p, id) => p.hangup(id), callIn.id);
      await eventually(
        () => Promise.resolve(finishes(h).length === 3 || undefined),
        "finish of the incoming call",
        15_000,
      );
      assertEquals(String(finishes(h)[2].params.STATUS_CODE), "200");
      await anna.click("[data-testid=call-card][data-ui-state=idle] [data-testid=call-card-close]");
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" });

      // 5. A missed call: Bob gives up before anyone answers → 304.
      const missed = await bob.call("1002");
      await anna.waitForSelector("[data-testid=call-card][data-ui-state=incoming]", {
        timeout: 20_000,
      });
      await bob.run((p, id) => p.hangup(id), missed.id);
      await anna.waitForSelector("[data-testid=call-card]", { state: "hidden" }); // closed by the app
      await eventually(
        () => Promise.resolve(finishes(h).length === 4 || undefined),
        "finish of the missed call",
        15_000,
      );
      assertEquals(String(finishes(h)[3].params.STATUS_CODE), "304");
      assertEquals(String(finishes(h)[3].params.DURATION), "0");
    } finally {
      await pg?.close();
    }
  },
);
