import { assertEquals } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { chromiumAvailable, launchChromium } from "./support/chromium.ts";
import { requireService } from "./support/services.ts";

Deno.test({
  name: "[e2e] a Bitrix24 POST of the app page renders and hydrates the phone island",
  ignore: requireService("Chromium", chromiumAvailable(), "apt-get install chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using h = await startBitrixHarness();
    assertEquals((await h.install()).status, 200);
    await using browser = await launchChromium();
    const page = await (await browser.newContext()).newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    // The portal's hidden form POSTs into the frame; do the same from a blank page.
    const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId: 2 });
    await page.goto(`${h.app.url}/healthz`);
    await page.evaluate(({ url, fields }) => {
      const form = document.createElement("form");
      form.method = "POST";
      form.action = url;
      for (const [name, value] of Object.entries(fields)) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        form.append(input);
      }
      document.body.append(form);
      form.submit();
    }, { url: load.url, fields: load.fields });
    await page.waitForSelector("[data-island='Phone'][data-hydrated='1']");
    await page.waitForSelector("[data-testid=registration], .pill.off");
    assertEquals(await page.$("[data-island='Admin']"), null);
    await page.click("role=tab >> nth=1");
    await page.waitForSelector(".history");
    assertEquals(errors, []);
  },
});
