/**
 * The app's pages in Chromium against the portal emulator and Kamailio: the employee's phone and
 * the admin panel in Russian and English (screenshots in test-artifacts/ for review), a
 * registration through the page, and the background worker page reaching `onload` quickly.
 */
import { assert, assertEquals } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { launchChromium } from "./support/chromium.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { phoneTest } from "./phone/gate.ts";

const ADMIN = 1;
const ANNA = 2;
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

phoneTest("[ui] phone and admin pages in both languages, registered through Kamailio", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using kamailio = await startKamailio();
  for (const lang of ["ru", "en"] as const) {
    await using h = await startBitrixHarness({ portal: { language: lang } });
    assertEquals((await h.install()).status, 200);
    await h.widget(ADMIN, {
      event: "UPDATECREED",
      clientId: h.portal.app.clientId,
      secretId: h.portal.app.clientSecret,
    });
    for (const [userId, user] of [[ADMIN, "1001"], [ANNA, "1002"]] as const) {
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
    await using browser = await launchChromium();
    for (const [userId, who] of [[ADMIN, "admin"], [ANNA, "employee"]] as const) {
      const page = await (await browser.browser.newContext({
        viewport: { width: 1100, height: 900 },
        // Not given, Playwright reports it "denied" and the phone says the microphone is blocked.
        permissions: ["microphone"],
      }))
        .newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId });
      const query = new URLSearchParams({ ...load.fields, LANG: lang });
      await page.goto(`${h.app.url}/?${query}`);
      await page.waitForSelector("[data-testid=registration][data-state=registered]", {
        timeout: 15_000,
      });
      assertEquals(await page.getAttribute("html", "lang"), lang);
      const adminPanel = await page.$("[data-island=Admin]");
      assertEquals(Boolean(adminPanel), who === "admin");
      if (who === "admin") {
        await page.waitForSelector("[data-testid^=employee-]");
        await page.click(`[data-testid=employee-${ANNA}] >> role=button`);
        await page.waitForSelector(`[data-testid=employee-${ANNA}] form.editor`);
      }
      await page.screenshot({ path: `${ARTIFACTS}/phone-${who}-${lang}.png`, fullPage: true });
      if (who === "employee") {
        await page.click("role=tab >> nth=1");
        await page.waitForSelector(".history");
        await page.screenshot({ path: `${ARTIFACTS}/history-${lang}.png` });
        await page.click("role=tab >> nth=2");
        await page.click(".self-test button");
        await page.waitForSelector(".self-test li[data-check=ok] >> nth=2", { timeout: 10_000 });
        await page.screenshot({ path: `${ARTIFACTS}/settings-${lang}.png`, fullPage: true });
      }
      assertEquals(errors, []);
      await page.context().close();
    }
  }
});

phoneTest(
  "[ui] the background worker page reaches onload with only its tiny boot script",
  async () => {
    await using h = await startBitrixHarness();
    await using browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${h.app.url}/placement/background`, { waitUntil: "load" });
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
      const before = performance.getEntriesByType("resource")
        .filter((r) => r.startTime < nav.loadEventStart)
        .map((r) => ({
          path: new URL(r.name).pathname,
          bytes: (r as PerformanceResourceTiming).encodedBodySize,
        }));
      return { onload: nav.loadEventStart, before };
    });
    assertEquals(
      timing.before.map((r) => r.path),
      ["/static/build/background_boot.js"],
      `background worker onload after ${timing.onload.toFixed(0)} ms`,
    );
    assert(timing.before[0].bytes < 1024);
  },
);

phoneTest(
  "[ui] the account editor keeps what was typed, saves, and asks before removing",
  async () => {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await using h = await startBitrixHarness({ portal: { language: "en" } });
    assertEquals((await h.install()).status, 200);
    await using browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId: ADMIN });
    await page.goto(`${h.app.url}/?${new URLSearchParams({ ...load.fields, LANG: "en" })}`);
    const editor = `[data-testid=employee-${ANNA}] form.editor`;
    await page.click(`[data-testid=employee-${ANNA}] >> role=button`);
    // A field the server refuses says what to enter, in red, right under it.
    await page.fill(`${editor} input[name=url]`, "https://pbx.example.com/ws");
    await page.fill(`${editor} input[name=user]`, "10 02");
    await page.fill(`${editor} input[name=password]`, "secret");
    await page.click(`${editor} button[type=submit]`);
    await page.waitForSelector(`${editor} [data-testid=url-error]:has-text("wss://")`);
    await page.waitForSelector(`${editor} [data-testid=user-error]`);
    assertEquals(await page.getAttribute(`${editor} input[name=url]`, "aria-invalid"), "true");
    assertEquals(await page.$(`${editor} [data-testid=password-error]`), null);
    await page.screenshot({ path: `${ARTIFACTS}/admin-field-errors-en.png` });
    await page.fill(`${editor} input[name=password]`, "");
    await page.fill(`${editor} input[name=url]`, "wss://pbx.example.com:8089/ws");
    await page.fill(`${editor} input[name=user]`, "1002");
    await page.click(`${editor} button.secondary`);
    await page.waitForSelector(`${editor} [aria-live]:has-text("Enter the password to test")`);
    assertEquals(
      await page.inputValue(`${editor} input[name=url]`),
      "wss://pbx.example.com:8089/ws",
    );
    assertEquals(await page.inputValue(`${editor} input[name=user]`), "1002");
    await page.fill(`${editor} input[name=password]`, "secret");
    await page.click(`${editor} button[type=submit]`);
    await page.waitForSelector(`[data-testid=employees-notice]:has-text("Saved")`);
    await page.waitForSelector(`[data-testid=employee-${ANNA}] .pill.registered`);
    await page.click(`[data-testid=employee-${ANNA}] >> role=button`);
    await page.click(`${editor} button.danger`);
    await page.waitForSelector(`${editor} [role=alertdialog]`);
    await page.screenshot({ path: `${ARTIFACTS}/admin-remove-confirm-en.png` });
    assert(await page.$(`[data-testid=employee-${ANNA}] .pill.registered`), "removed unasked");
    await page.click(`${editor} [role=alertdialog] button.danger`);
    await page.waitForSelector(`[data-testid=employees-notice]:has-text("Removed")`);
    await page.waitForSelector(`[data-testid=employee-${ANNA}] .pill.off`);
    // The same in Russian.
    const ru = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId: ADMIN });
    await page.goto(`${h.app.url}/?${new URLSearchParams({ ...ru.fields, LANG: "ru" })}`);
    await page.click(`[data-testid=employee-${ANNA}] >> role=button`);
    await page.fill(`${editor} input[name=url]`, "https://pbx.example.com/ws");
    await page.fill(`${editor} input[name=user]`, "1002");
    await page.fill(`${editor} input[name=password]`, "secret");
    await page.click(`${editor} button[type=submit]`);
    await page.waitForSelector(`${editor} [data-testid=url-error]:has-text("Укажите")`);
    await page.screenshot({ path: `${ARTIFACTS}/admin-field-errors-ru.png` });
    await page.click(`${editor} button.secondary >> nth=1`);
    await page.context().close();
  },
);
