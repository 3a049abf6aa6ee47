/**
 * The app's pages in Firefox ESR against the portal emulator and Kamailio, as
 * `ui_pages_test.ts` checks them in Chromium: the employee's phone (with its history and
 * settings tabs) and the admin panel in Russian and English, registered through the page, no
 * page errors, the self-test passing, and the dial pad used from the keyboard.
 * Screenshots go to test-artifacts/ as `firefox-*.png`, beside Chromium's.
 */
import { assertEquals } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { launchFirefox } from "./support/firefox.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { firefoxPhoneTest } from "./phone/gate.ts";
import type { Page } from "puppeteer-core";

const ADMIN = 1;
const ANNA = 2;
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

async function clickTab(page: Page, index: number): Promise<void> {
  const tabs = await page.$$("[role=tab]");
  await tabs[index].click();
}

firefoxPhoneTest("[ui] Firefox: phone and admin pages in both languages", async (t) => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using kamailio = await startKamailio();
  await using firefox = await launchFirefox();
  for (const lang of ["ru", "en"] as const) {
    await using h = await startBitrixHarness({ portal: { language: lang } });
    assertEquals((await h.install()).status, 200);
    await h.widget(ADMIN, {
      event: "UPDATECREED",
      clientId: h.portal.app.clientId,
      secretId: h.portal.app.clientSecret,
    });
    for (const [userId, user] of [[ADMIN, "2001"], [ANNA, "2002"]] as const) {
      const saved = await h.widget(ADMIN, {
        event: "SAVEUSERDATA",
        userId,
        url: kamailio.wsUrl,
        user,
        password: "secret",
        sipUri: `sip:${user}@test.local`,
      });
      assertEquals(saved.status, 200);
    }
    for (const [userId, who] of [[ADMIN, "admin"], [ANNA, "employee"]] as const) {
      await t.step(`${who}, ${lang}`, async () => {
        const context = await firefox.newContext();
        const page = await context.newPage();
        await page.setViewport({ width: 1100, height: 900 });
        const errors: string[] = [];
        page.on("pageerror", (e) => errors.push((e as Error).message));
        const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId });
        const query = new URLSearchParams({ ...load.fields, LANG: lang });
        await page.goto(`${h.app.url}/?${query}`);
        await page.waitForSelector("[data-testid=registration][data-state=registered]", {
          timeout: 15_000,
        });
        assertEquals(await page.$eval("html", (e) => e.getAttribute("lang")), lang);
        assertEquals(Boolean(await page.$("[data-island=Admin]")), who === "admin");
        assertEquals(await page.$("[data-testid=tabs-not-shared]"), null);
        if (who === "admin") {
          await page.waitForSelector("[data-testid^=employee-]");
          await page.click(`[data-testid=employee-${ANNA}] button`);
          await page.waitForSelector(`[data-testid=employee-${ANNA}] form.editor`);
        }
        await page.screenshot({
          path: `${ARTIFACTS}/firefox-phone-${who}-${lang}.png`,
          fullPage: true,
        });
        if (who === "employee") {
          // Keyboard only: type the number, Tab reaches the keypad, Enter in the field dials.
          await page.focus("input[name=number]");
          await page.keyboard.type("2099");
          await page.keyboard.press("Tab");
          const focused = await page.evaluate(() => ({
            tag: document.activeElement?.tagName,
            inKeypad: document.activeElement?.closest("form") !== null,
          }));
          assertEquals(focused, { tag: "BUTTON", inKeypad: true });
          await page.focus("input[name=number]");
          await page.keyboard.press("Enter");
          await clickTab(page, 1);
          // Nobody is 2099 (Kamailio answers 404 at once): the call shows in the history only.
          await page.waitForFunction(
            () => document.querySelector(".history")?.textContent?.includes("2099"),
            { timeout: 15_000 },
          );
          await page.screenshot({ path: `${ARTIFACTS}/firefox-history-${lang}.png` });
          await clickTab(page, 2);
          await page.click(".self-test button");
          await page.waitForFunction(
            () => document.querySelectorAll(".self-test li[data-check=ok]").length >= 3,
            { timeout: 10_000 },
          ).catch(async (e) => {
            const checks = await page.$$eval(".self-test li", (l) => l.map((x) => x.textContent));
            throw new Error(`${e.message}; self-test: ${checks.join(" | ")}`);
          });
          await page.screenshot({
            path: `${ARTIFACTS}/firefox-settings-${lang}.png`,
            fullPage: true,
          });
        }
        assertEquals(errors, []);
        await context.close();
      });
    }
  }
});
