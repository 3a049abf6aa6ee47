/**
 * The employee's phone page in Chromium against the portal emulator and Kamailio, in Russian and
 * English: why a call ended (number not found, declined) with Redial, the keyboard (digits typed
 * anywhere, Enter calls and answers, Esc declines and hangs up, tones during a call shown), the
 * call layout, the title of a hidden tab that rings, a blocked microphone said before and on a
 * call, and a refused password asking the admin, with Retry. Screenshots go to test-artifacts/.
 */
import type { Page } from "playwright-core";
import { assert, assertEquals } from "./support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "./support/bitrix.ts";
import { launchChromium, type TestBrowser } from "./support/chromium.ts";
import { startKamailio } from "./kamailio/kamailio.ts";
import { phoneTest } from "./phone/gate.ts";

const ADMIN = 1;
const ANNA = 2;
const ARTIFACTS = new URL("../test-artifacts/", import.meta.url).pathname;

async function openPhone(
  h: BitrixHarness,
  browser: TestBrowser,
  userId: number,
  lang: string,
  init?: () => void,
  viewport = { width: 1000, height: 760 },
  permissions: string[] = [],
): Promise<Page> {
  // Playwright reports a permission it was not given as "denied" (the fake media flags still
  // let getUserMedia through): the microphone is granted, as a user who allowed it once has.
  const context = await browser.browser.newContext({
    viewport,
    permissions: ["microphone", ...permissions],
  });
  const page = await context.newPage();
  if (init) await page.addInitScript(init);
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId });
  await page.goto(`${h.app.url}/?${new URLSearchParams({ ...load.fields, LANG: lang })}`);
  return page;
}

/** Polls `probe` until it gives a truthy value (10 s). */
async function waitForValue<T>(probe: () => Promise<T | undefined | false>): Promise<T> {
  for (const deadline = Date.now() + 10_000; Date.now() < deadline;) {
    const value = await probe();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out");
}

const registered = (page: Page) =>
  page.waitForSelector("[data-testid=registration][data-state=registered]", { timeout: 15_000 });

phoneTest("[ui] the phone says why a call ended and works from the keyboard", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using kamailio = await startKamailio();
  for (const lang of ["ru", "en"] as const) {
    await using h = await startBitrixHarness({ portal: { language: lang } });
    assertEquals((await h.install()).status, 200);
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
    const anna = await openPhone(h, browser, ANNA, lang);
    const boss = await openPhone(h, browser, ADMIN, lang);
    await registered(anna);
    await registered(boss);
    const shot = (page: Page, name: string) =>
      page.screenshot({ path: `${ARTIFACTS}/phone-${name}-${lang}.png` });

    assertEquals(await anna.$("[data-testid=mic-blocked]"), null, "an allowed microphone is quiet");
    // Focused on load; digits typed anywhere go to the number field; Enter calls.
    assertEquals(await anna.evaluate(() => document.activeElement?.getAttribute("name")), "number");
    await anna.evaluate(() => (document.activeElement as HTMLElement).blur());
    await anna.keyboard.type("1999");
    assertEquals(await anna.inputValue("input[name=number]"), "1999");
    await anna.keyboard.press("Enter");
    // Nobody is registered as 1999: Kamailio answers 404.
    await anna.waitForSelector("[data-testid=call-ended][data-outcome=not-found]");
    await shot(anna, "ended-not-found");
    assertEquals(await anna.inputValue("input[name=number]"), "1999", "back in the field to fix");
    await anna.fill("input[name=number]", "");

    // The callee's tab is hidden: its title says who calls. Esc there declines.
    await boss.evaluate(() => {
      Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    await anna.keyboard.type("1001");
    // Tab goes from the number straight to Call (the pad's keys are for the mouse).
    await anna.keyboard.press("Tab");
    assertEquals(await anna.evaluate(() => document.activeElement?.className), "call-button");
    await anna.keyboard.press("Enter");
    await boss.waitForSelector("[data-testid=call][data-state=incoming]");
    await boss.waitForFunction(() =>
      document.title.startsWith("☎") && document.title.includes("1002")
    );
    await shot(boss, "incoming");
    await boss.keyboard.press("Escape");
    await anna.waitForSelector("[data-testid=call-ended][data-outcome=declined]");
    await boss.waitForSelector("[data-testid=call-ended][data-outcome=you-declined]");
    assert(
      !(await boss.title()).startsWith("☎"),
      "the title is back once the call stopped ringing",
    );
    await shot(anna, "ended-declined");

    // Redial; Enter answers; digits during the call are tones and show on the card.
    await anna.click("[data-outcome=declined] [data-testid=redial]");
    await boss.waitForSelector("[data-testid=call][data-state=incoming]");
    const declineBox = await boss.locator("[data-testid=call] button.danger").boundingBox();
    await boss.keyboard.press("Enter");
    await anna.waitForSelector("[data-testid=call][data-state=connected]");
    await boss.waitForSelector("[data-testid=call][data-state=connected]");
    const bossHangup = await boss.locator("[data-testid=hangup]").boundingBox();
    assertEquals(
      [bossHangup?.y, bossHangup?.height],
      [declineBox?.y, declineBox?.height],
      "Hang up is where Decline was",
    );
    await anna.keyboard.type("12#");
    await anna.waitForSelector("[data-testid=dtmf-sent]:has-text('12#')");
    assertEquals(
      await anna.inputValue("input[name=number]"),
      "",
      "tones are not typed into the field",
    );
    const mute = anna.locator("[data-testid=call] button.ctl >> nth=0");
    const label = await mute.textContent();
    await mute.click();
    await anna.waitForSelector("[data-testid=call] button.ctl[aria-pressed=true] >> nth=0");
    assertEquals(
      await mute.textContent(),
      label,
      "mute keeps one label; aria-pressed says the state",
    );
    await shot(anna, "in-call");
    const hangupBox = await anna.locator("[data-testid=hangup]").boundingBox();
    await anna.click("[data-testid=call] button.ctl >> nth=2"); // the keypad opens below
    assertEquals(await anna.locator("[data-testid=hangup]").boundingBox(), hangupBox);
    await anna.waitForSelector("[data-testid=call] .keypad");
    // Esc closes the keypad first; the next one hangs up.
    await anna.keyboard.press("Escape");
    await anna.waitForSelector("[data-testid=call] .keypad", { state: "detached" });
    assert(await anna.$("[data-testid=call][data-state=connected]"), "still talking");
    await anna.keyboard.press("Escape");
    await anna.waitForSelector("[data-testid=call-ended][data-outcome=hung-up]");
    await boss.waitForSelector("[data-testid=call-ended][data-outcome=remote-hung-up]");
    await shot(anna, "ended-hung-up");

    // A wrong password: the notice asks the admin and offers Retry.
    await h.widget(ADMIN, {
      event: "SAVEUSERDATA",
      userId: ANNA,
      url: kamailio.wsUrl,
      user: "1002",
      password: "wrong",
      sipUri: "sip:1002@test.local",
    });
    const denied = await openPhone(h, browser, ANNA, lang);
    await denied.waitForSelector(
      "[data-notice=connBadCredentials] [data-testid=connection-retry]",
      {
        timeout: 15_000,
      },
    );
    await shot(denied, "bad-password");
    // Dialling anyway says why nothing happens; Retry registers again (and is refused again).
    await denied.keyboard.type("1001");
    await denied.keyboard.press("Enter");
    const offline = lang === "ru"
      ? "Телефон не подключён к АТС."
      : "The phone is not connected to the PBX.";
    await denied.waitForSelector(`p.banner.error[role=alert]:has-text("${offline}")`);
    assertEquals(await denied.$("[data-testid=call-ended]"), null, "no INVITE went out");
    await denied.click("[data-testid=connection-retry]");
    await denied.waitForSelector(
      "[data-notice=connBadCredentials] [data-testid=connection-retry]",
      {
        timeout: 15_000,
      },
    );
  }
});

phoneTest("[ui] a blocked microphone is said before the call and when calling", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using kamailio = await startKamailio();
  for (const lang of ["ru", "en"] as const) {
    await using h = await startBitrixHarness({ portal: { language: lang } });
    assertEquals((await h.install()).status, 200);
    for (const [userId, user] of [[ADMIN, "1001"], [ANNA, "1002"]] as const) {
      await h.widget(ADMIN, {
        event: "SAVEUSERDATA",
        userId,
        url: kamailio.wsUrl,
        user,
        password: "secret",
        sipUri: `sip:${user}@test.local`,
      });
    }
    await using browser = await launchChromium();
    // What Chromium does once the user blocked the microphone for the site.
    const page = await openPhone(h, browser, ANNA, lang, () => {
      const denied = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
      navigator.mediaDevices.getUserMedia = denied;
      const query = navigator.permissions.query.bind(navigator.permissions);
      navigator.permissions.query = (d: PermissionDescriptor) =>
        d.name === ("microphone" as PermissionName)
          ? Promise.resolve({ state: "denied", onchange: null } as PermissionStatus)
          : query(d);
    });
    await registered(page);
    await page.waitForSelector("[data-testid=mic-blocked]");
    await page.keyboard.type("1001");
    await page.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=call-ended][data-outcome=mic-blocked]", {
      timeout: 15_000,
    });
    await page.screenshot({ path: `${ARTIFACTS}/phone-mic-blocked-${lang}.png` });

    // Answering with the microphone blocked says so on the call, not in a second banner.
    const caller = await openPhone(h, browser, ADMIN, lang);
    await registered(caller);
    await page.click("[data-testid=call-ended] button.close");
    await caller.keyboard.type("1002");
    await caller.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=call][data-state=incoming]");
    await page.keyboard.press("Enter");
    await page.waitForSelector("[data-testid=call-ended][data-outcome=mic-blocked]");
    assertEquals(
      await page.textContent("[data-testid=call-outcome]"),
      lang === "ru"
        ? "Не удалось ответить: браузер запретил доступ к микрофону. Разрешите его в настройках сайта (значок слева от адреса) и перезвоните."
        : "Not answered: the browser blocks the microphone. Allow it in the site settings (the icon left of the address) and call back.",
    );
    assertEquals(await page.$$("p.banner.error[role=alert]:not([data-testid])"), []);
  }
});

phoneTest(
  "[ui] Answer on a hidden tab's notification; a lost PBX connection says the call goes on; 380 px",
  async () => {
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    await using kamailio = await startKamailio();
    for (const lang of ["ru", "en"] as const) {
      await using h = await startBitrixHarness({ portal: { language: lang } });
      assertEquals((await h.install()).status, 200);
      for (const [userId, user] of [[ADMIN, "1001"], [ANNA, "1002"]] as const) {
        await h.widget(ADMIN, {
          event: "SAVEUSERDATA",
          userId,
          url: kamailio.wsUrl,
          user,
          password: "secret",
          sipUri: `sip:${user}@test.local`,
        });
      }
      await using browser = await launchChromium();
      const anna = await openPhone(h, browser, ANNA, lang, undefined, { width: 380, height: 700 });
      const boss = await openPhone(h, browser, ADMIN, lang, undefined, undefined, [
        "notifications",
      ]);
      await registered(anna);
      await registered(boss);
      await boss.evaluate(() => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
        document.dispatchEvent(new Event("visibilitychange"));
      });
      await anna.keyboard.type("1001");
      await anna.keyboard.press("Enter");
      await boss.waitForSelector("[data-testid=call][data-state=incoming]");
      // The hidden tab shows a notification with Answer and Decline (the service worker's).
      const notification = await waitForValue(() =>
        boss.evaluate(async () => {
          const reg = await navigator.serviceWorker.getRegistration("/static/build/");
          const [n] = (await reg?.getNotifications()) ?? [];
          return n && {
            title: n.title,
            body: n.body,
            actions: (n as unknown as { actions: { action: string; title: string }[] }).actions
              .map(({ action, title }) => ({ action, title })),
            data: n.data as { tabId: string; callId: string },
          };
        })
      );
      assertEquals(notification.body, "1002");
      assertEquals(
        notification.actions,
        lang === "ru"
          ? [{ action: "answer", title: "Ответить" }, { action: "decline", title: "Отклонить" }]
          : [{ action: "answer", title: "Answer" }, { action: "decline", title: "Decline" }],
      );
      // A click on Answer, as the worker passes it on (a headless browser has no system UI).
      await boss.evaluate((data) => {
        new BroadcastChannel("phone-notification").postMessage({ action: "answer", ...data });
      }, notification.data);
      await anna.waitForSelector("[data-testid=call][data-state=connected]");
      await waitForValue(() =>
        boss.evaluate(async () => {
          const reg = await navigator.serviceWorker.getRegistration("/static/build/");
          return (await reg!.getNotifications()).length === 0;
        })
      );
      await anna.locator("[data-testid=call]").scrollIntoViewIfNeeded();
      const tops = await anna.$$eval(
        "[data-testid=call] button.ctl",
        (buttons) =>
          buttons.map((b) => {
            const label = b.querySelector(".ctl-label") as HTMLElement;
            return {
              top: Math.round(b.getBoundingClientRect().top),
              clipped: label.scrollWidth > label.clientWidth,
            };
          }),
      );
      assertEquals(new Set(tops.map((t) => t.top)).size, 1, "the controls are one row");
      assertEquals(tops.filter((t) => t.clipped), [], "no label is cut off");
      assertEquals(
        await anna.evaluate(() => document.documentElement.scrollWidth <= innerWidth),
        true,
        "nothing overflows at 380 px",
      );
      await anna.screenshot({ path: `${ARTIFACTS}/phone-in-call-380-${lang}.png`, fullPage: true });

      const lost = anna.waitForSelector("[data-notice=connLostInCall]", { timeout: 15_000 });
      await kamailio.restart();
      await lost;
      await anna.screenshot({ path: `${ARTIFACTS}/phone-connection-lost-${lang}.png` });
      await registered(anna);
      await anna.waitForSelector("[data-testid=connection-notice]", { state: "detached" });
      assert(await anna.$("[data-testid=call][data-state=connected]"), "the call went on");
    }
  },
);

phoneTest("[ui] a transferred call says who transferred it, on both new legs", async () => {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  await using kamailio = await startKamailio();
  const JOHN = 3;
  for (const lang of ["ru", "en"] as const) {
    await using h = await startBitrixHarness({ portal: { language: lang } });
    assertEquals((await h.install()).status, 200);
    for (const [userId, user] of [[ADMIN, "1001"], [ANNA, "1002"], [JOHN, "1003"]] as const) {
      await h.widget(ADMIN, {
        event: "SAVEUSERDATA",
        userId,
        url: kamailio.wsUrl,
        user,
        password: "secret",
        sipUri: `sip:${user}@test.local`,
      });
    }
    await using browser = await launchChromium();
    const anna = await openPhone(h, browser, ANNA, lang);
    const boss = await openPhone(h, browser, ADMIN, lang);
    const john = await openPhone(h, browser, JOHN, lang);
    for (const page of [anna, boss, john]) await registered(page);
    await anna.keyboard.type("1001");
    await anna.keyboard.press("Enter");
    await boss.waitForSelector("[data-testid=call][data-state=incoming]");
    await boss.keyboard.press("Enter");
    await boss.waitForSelector("[data-testid=call][data-state=connected]");
    // The boss passes Anna on to John (blind transfer from the call's Transfer control).
    await boss.click("[data-testid=call] button.ctl >> nth=3");
    await boss.fill("[data-testid=call] .inline-form input", "1003");
    await boss.press("[data-testid=call] .inline-form input", "Enter");
    await john.waitForSelector("[data-testid=call][data-state=incoming]");
    assertEquals(
      await john.textContent("[data-testid=transferred-from]"),
      (lang === "ru" ? "Переведён от " : "Transferred from ") + "1001",
    );
    await john.screenshot({ path: `${ARTIFACTS}/phone-transferred-${lang}.png` });
    assert(
      (await anna.textContent("[data-testid=call] [data-testid=transferred-from]"))?.includes(
        "1001",
      ),
    );
    await john.keyboard.press("Enter");
    // The transfer is done when John answers (the NOTIFY with 200): the boss's call ends.
    await boss.waitForSelector("[data-testid=call-ended][data-outcome=transferred]");
    await anna.waitForSelector("[data-testid=call][data-state=connected]");
    await john.waitForSelector("[data-testid=call][data-state=connected]");
    await john.keyboard.press("Escape");
    await anna.waitForSelector("[data-testid=call-ended][data-outcome=remote-hung-up]");
  }
});
