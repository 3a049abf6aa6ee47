import { assertEquals } from "./support/assert.ts";
import { startTestApp } from "./support/app.ts";
import { chromiumAvailable, launchChromium } from "./support/chromium.ts";
import { requireService } from "./support/services.ts";

Deno.test({
  name: "[e2e] the placement page hydrates its island in Chromium without console errors",
  ignore: requireService("Chromium", chromiumAvailable(), "apt-get install chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startTestApp();
    await using browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${app.url}/?LANG=en&DOMAIN=acme.bitrix24.com`);
    await page.waitForSelector("[data-island='Phone'][data-hydrated='1']");
    await page.fill("input[type=tel]", "+1 555 0100");
    assertEquals(await page.textContent("[data-testid=echo]"), "+1 555 0100");
    assertEquals(errors, []);
  },
});
