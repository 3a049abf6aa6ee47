/**
 * Who is calling, in Chromium against the emulator and Kamailio: a call from a number the
 * portal's CRM knows shows the caller's name, company and responsible employee on the app
 * page's incoming-call screen before it is answered, in both languages; once answered, one click
 * transfers it to the responsible employee's SIP account.
 *
 * @module
 */
import { assertEquals, assertStringIncludes } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { launchChromium } from "./support/chromium.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { phoneBundles, PhonePage, startPageServer } from "./phone/harness.ts";
import { phoneTest } from "./phone/gate.ts";
import { waitFor } from "./support/wait.ts";

const ANNA = 2;
const JOHN = 3;
const SHOTS = Deno.env.get("SCREENSHOT_DIR");

phoneTest(
  "[e2e] the CRM's caller on the incoming-call screen before answer; transfer to the responsible",
  async () => {
    await using kamailio = await startKamailio();
    await using h = await startBitrixHarness({ portal: { language: "en" } });
    assertEquals((await h.install()).status, 200);
    const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
    assertEquals((await h.widget(1, { event: "UPDATECREED", ...creds })).status, 200);
    for (const [userId, user] of [[ANNA, "1002"], [JOHN, "1004"]] as const) {
      const saved = await h.widget(1, {
        event: "SAVEUSERDATA",
        userId,
        url: kamailio.wsUrl,
        user,
        password: "secret",
        sipUri: `sip:${user}@test.local`,
      });
      assertEquals(saved.status, 200, await saved.text());
    }
    // Bob's number is a contact of John's, and a company's too.
    h.portal.state.crm.add({
      type: "CONTACT",
      id: 50,
      name: "Bob Builder",
      phones: ["1003"],
      assignedById: JOHN,
    });
    h.portal.state.crm.add({
      type: "COMPANY",
      id: 50,
      name: "Builders Ltd",
      phones: ["1003"],
      assignedById: JOHN,
    });

    await using browser = await launchChromium();
    await using far = startPageServer(await phoneBundles());
    const bob = await PhonePage.open(
      await (await browser.newContext()).newPage(),
      far.origin,
      "bob",
    );
    await bob.register("1003", kamailio.wsUrl);
    const john = await PhonePage.open(
      await (await browser.newContext()).newPage(),
      far.origin,
      "john",
    );
    await john.register("1004", kamailio.wsUrl);

    const anna = await (await browser.newContext()).newPage();
    for (const lang of ["en", "ru"] as const) {
      await anna.goto(
        h.portal.pageUrl({ userId: ANNA, placement: "DEFAULT", workers: false, lang }),
      );
      const app = await waitFor(
        "the phone frame",
        () => Promise.resolve(anna.frames().find((f) => f.url().startsWith(h.app.url))),
      );
      await app.waitForSelector("[data-island=Phone][data-hydrated='1']");
      await waitFor("1002 registered", async () => (await kamailio.contacts("1002")) >= 1, {
        timeoutMs: 20_000,
      });
      const call = await bob.call("1002");
      await app.waitForSelector("[data-testid=call][data-state=incoming]", { timeout: 20_000 });
      await app.waitForSelector("[data-testid=caller]", { timeout: 10_000 });
      // Still ringing: the name came before any answer.
      assertEquals(await app.getAttribute("[data-testid=call]", "data-state"), "incoming");
      assertEquals((await app.textContent("[data-testid=call-title]"))?.trim(), "Bob Builder");
      const line = (await app.textContent("[data-testid=caller]")) ?? "";
      assertStringIncludes(line, "Builders Ltd");
      assertStringIncludes(line, `${lang === "ru" ? "Ответственный" : "Responsible"}: 103`);
      if (SHOTS) await anna.screenshot({ path: `${SHOTS}/caller-incoming-${lang}.png` });
      if (lang === "en") {
        await bob.run((p, id) => p.hangup(id), call.id);
        await app.waitForSelector("[data-testid=call]", { state: "detached", timeout: 20_000 });
        continue;
      }
      // Answered, then one click hands Bob to John's SIP account.
      await app.click("[data-testid=call] button.answer");
      await app.waitForSelector("[data-testid=call][data-state=connected]", { timeout: 20_000 });
      await app.click("[data-testid=transfer-responsible]");
      const atJohn = await john.waitForCall("incoming", "inbound", 20_000);
      await john.run((p, id) => p.answer(id), atJohn.id);
      await john.waitForCall("connected", "inbound", 20_000);
      await john.run((p, id) => p.hangup(id), atJohn.id);
    }
  },
);
