// The portal emulator's pages in Chromium: a tiny app on 127.0.0.1 that runs the real
// @bitrix24/b24jssdk frame SDK inside the portal's cross-site frames (portal on 127.0.0.2).
import type { Frame, Page } from "playwright-core";
import { type Portal, startPortal } from "../dev/portal/mod.ts";
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "./support/assert.ts";
import { chromiumAvailable, launchChromium } from "./support/chromium.ts";
import { requireService } from "./support/services.ts";
import { waitFor } from "./support/wait.ts";

const ROOT = new URL("../", import.meta.url);

/** Bundles `initializeB24Frame` of the real SDK for the browser. */
async function bundleSdk(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "b24sdk-" });
  try {
    await Deno.writeTextFile(
      `${dir}/entry.ts`,
      'export { initializeB24Frame } from "@bitrix24/b24jssdk";\n',
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--config",
        new URL("deno.json", ROOT).pathname,
        "--platform",
        "browser",
        "--minify",
        "-o",
        `${dir}/sdk.js`,
        `${dir}/entry.ts`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (out.code !== 0) throw new Error(new TextDecoder().decode(out.stderr));
    return await Deno.readTextFile(`${dir}/sdk.js`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

const EVENTS = [
  "initialized",
  "entityChanged",
  "muteButtonClick",
  "holdButtonClick",
  "closeButtonClick",
  "transferButtonClick",
  "hangupButtonClick",
  "answerButtonClick",
  "dialpadButtonClick",
];

/** The app page: starts the SDK, keeps what it got; the worker binds the call card events. */
function appHtml(kind: string): string {
  const bind = kind === "worker"
    ? `await Promise.all(${JSON.stringify(EVENTS)}.map((n) =>
        b24.placement.bindEvent("BackgroundCallCard::" + n, (data) => window.events.push({ name: n, data }))));`
    : "";
  return `<!doctype html><html><body><h1>${kind}</h1><script type="module">
    import { initializeB24Frame } from "/sdk.js";
    window.events = [];
    const b24 = await initializeB24Frame();
    window.b24 = b24;
    window.init = {
      placement: b24.placement.placement, options: { ...b24.placement.options },
      auth: b24.auth.getAuthData(), isAdmin: b24.auth.isAdmin, lang: b24.getLang(),
      install: b24.isInstallMode, firstRun: b24.isFirstRun,
    };
    ${bind}
    window.ready = true;
  </script></body></html>`;
}

interface FakeApp {
  url: string;
  loads: { path: string; query: URLSearchParams; form: URLSearchParams }[];
  posts: { path: string; form: URLSearchParams }[];
  close(): Promise<void>;
}

function startApp(sdk: string): FakeApp {
  const loads: FakeApp["loads"] = [];
  const posts: FakeApp["posts"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/sdk.js") {
      return new Response(sdk, { headers: { "content-type": "text/javascript" } });
    }
    const form = new URLSearchParams(req.method === "POST" ? await req.text() : "");
    if (url.pathname === "/events" || url.pathname === "/error") {
      posts.push({ path: url.pathname, form });
      return new Response("ok");
    }
    loads.push({ path: url.pathname, query: url.searchParams, form });
    return new Response(appHtml(url.pathname.slice(1)), {
      headers: { "content-type": "text/html; charset=utf-8" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    loads,
    posts,
    close: () => server.shutdown(),
  };
}

/** The ready app frame served at `path` (a new one after `after`, when given). */
async function appFrame(page: Page, app: FakeApp, path: string, after?: Frame): Promise<Frame> {
  const frame = await waitFor(
    `frame ${path}`,
    () =>
      page.frames().find((f) =>
        f !== after && f.url().startsWith(`${app.url}${path}?`) && !f.isDetached()
      ),
  );
  await frame.waitForFunction("window.ready === true", undefined, {
    timeout: 15_000,
    polling: 100,
  });
  return frame;
}

// deno-lint-ignore no-explicit-any
type Any = any;

function events(frame: Frame): Promise<{ name: string; data: Any }[]> {
  return frame.evaluate("window.events");
}

async function eventNamed(frame: Frame, name: string, pred: (d: Any) => boolean = () => true) {
  return await waitFor(
    `event ${name}`,
    async () => (await events(frame)).find((e) => e.name === name && pred(e.data)),
  );
}

function call(frame: Frame, command: string, params: Record<string, unknown> = {}) {
  return frame.evaluate(
    ([c, p]) => (globalThis as Any).b24.placement.call(c, p),
    [command, params] as const,
  );
}

async function rest(portal: Portal, method: string, params: Record<string, unknown>, auth: string) {
  const res = await fetch(`${portal.clientEndpoint}${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...params, auth }),
  });
  return await res.json();
}

const card = (page: Page) => page.locator("[data-testid=call-card]");

Deno.test({
  name: "[e2e] portal pages: install, b24jssdk init data, call card commands and events",
  ignore: requireService("Chromium", chromiumAvailable(), "apt-get install chromium"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const app = startApp(await bundleSdk());
    const portal = await startPortal({
      hostname: "127.0.0.2",
      rateLimit: false,
      installed: false,
      language: "en",
      appUrl: `${app.url}/main`,
      installUrl: `${app.url}/install`,
    });
    const browser = await launchChromium();
    try {
      const page = await (await browser.newContext()).newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

      let worker!: Frame;
      await t.step("install: installer frame, init data, installFinish", async () => {
        await page.goto(portal.pageUrl({ view: "apps" }));
        await page.click("[data-testid=install-app]");
        const installer = await appFrame(page, app, "/install");
        const init = await installer.evaluate("window.init") as Any;
        assertEquals(init.placement, "DEFAULT");
        assertEquals([init.install, init.firstRun, init.isAdmin, init.lang], [
          true,
          true,
          true,
          "en",
        ]);
        assertEquals(init.auth.domain, portal.url);
        assertEquals(init.auth.member_id, portal.memberId);
        // The frame was loaded by a POST of the portal's hidden form, with the same token.
        const load = app.loads.find((l) => l.path === "/install")!;
        assertEquals(load.form.get("AUTH_ID"), init.auth.access_token);
        assertEquals(load.form.get("member_id"), portal.memberId);
        assertEquals(load.query.get("DOMAIN"), portal.domain);
        assertEquals(load.query.get("PROTOCOL"), "0");
        const me = await rest(portal, "user.current", {}, init.auth.access_token);
        assertEquals(me.result.ID, "1");
        // The installer binds the worker and the click-to-call handler with the SDK's REST
        // (straight to the portal's /rest/), then finishes the installation.
        const bound = await installer.evaluate(async (url: string) => {
          const b24 = (globalThis as Any).b24;
          const a = await b24.actions.v2.call.make({
            method: "placement.bind",
            params: {
              PLACEMENT: "PAGE_BACKGROUND_WORKER",
              HANDLER: `${url}/worker`,
              OPTIONS: { errorHandlerUrl: `${url}/error` },
            },
          });
          const b = await b24.actions.v2.call.make({
            method: "event.bind",
            params: { event: "ONEXTERNALCALLSTART", handler: `${url}/events` },
          });
          const c = await b24.actions.v2.call.make({
            method: "placement.bind",
            params: { PLACEMENT: "LEFT_MENU", HANDLER: `${url}/left`, TITLE: "Phone" },
          });
          b24.installFinish().catch(() => {});
          return [a.getData().result, b.getData().result, c.getData().result];
        }, app.url);
        assertEquals(bound, [true, true, true]);
        await page.waitForURL(/install_finished=Y/);
        assert(portal.app.installed);
        assertEquals(portal.pages.log({ name: "setInstallFinish" }).length, 1);
        assertEquals(
          await page.textContent("[data-testid=notice]"),
          "The application has been installed.",
        );
      });

      await t.step("DEFAULT page and the background worker", async () => {
        const main = await appFrame(page, app, "/main");
        assertEquals((await main.evaluate("window.init") as Any).placement, "DEFAULT");
        await main.evaluate("window.b24.parent.setTitle('SIP phone')");
        await waitFor(
          "title",
          async () => (await page.textContent("[data-testid=page-title]")) === "SIP phone",
        );
        const size = await main.evaluate("window.b24.parent.resizeWindow(640, 480)") as Any;
        assertEquals(size.height, 480);

        worker = await appFrame(page, app, "/worker");
        const init = await worker.evaluate("window.init") as Any;
        assertEquals(init.placement, "PAGE_BACKGROUND_WORKER");
        assertEquals(init.options.ID, "PAGE_BACKGROUND_WORKER");
        assert(String(init.options.URI).startsWith("/page/1"));
        const iface = await call(worker, "getInterface") as Any;
        assertEquals(iface.command.length, 9);
        assertEquals(iface.event.length, 17);
        const load = await waitFor(
          "worker load time",
          () => portal.pages.frameLoads().find((l) => l.placement === "PAGE_BACKGROUND_WORKER"),
        );
        assert(load.ms > 0 && !load.overtime);
      });

      await t.step("slider (openApplication) and a LEFT_MENU widget", async () => {
        const main = await appFrame(page, app, "/main");
        const closed = main.evaluate(
          "window.b24.slider.openSliderAppPage({ bx24_title: 'Settings', tab: 'sip' })",
        );
        const slider = await appFrame(page, app, "/main", main);
        assertEquals((await slider.evaluate("window.init") as Any).options, { tab: "sip" });
        // A slider is a portal page: it loads the worker too, with its own URI.
        const sliderInit = await waitFor("the slider's worker frame", async () => {
          for (const f of page.frames()) {
            if (!f.url().startsWith(`${app.url}/worker?`) || f.isDetached()) continue;
            const init = await f.evaluate("window.init").catch(() => undefined) as Any;
            if (String(init?.options?.URI ?? "").includes("IFRAME=Y")) return init;
          }
          return undefined;
        });
        assertEquals(sliderInit.options.ID, "PAGE_BACKGROUND_WORKER");
        assertStringIncludes(String(sliderInit.options.URI), "/marketplace/app/");
        await page.click("[data-testid=slider-close]");
        assertEquals(await closed, "");

        await page.click("[data-testid^=menu-left-]");
        const left = await appFrame(page, app, "/left");
        assertEquals((await left.evaluate("window.init") as Any).placement, "LEFT_MENU");
        await left.evaluate("window.b24.parent.setTitle('nope')");
        const denied = await waitFor(
          "denied setTitle",
          () => portal.pages.log({ kind: "dropped", name: "setTitle" })[0],
        );
        assertEquals(denied.reason, "denied outside DEFAULT");
        worker = await appFrame(page, app, "/worker", worker);
      });

      await t.step("call card: register SHOW=1, commands, buttons, close", async () => {
        const admin = portal.issueTokens({ userId: 1 });
        const reg = await rest(portal, "telephony.externalcall.register", {
          USER_ID: 1,
          PHONE_NUMBER: "+7 916 123-45-67",
          TYPE: 2,
          SHOW: 1,
        }, admin.accessToken);
        const callId = reg.result.CALL_ID;
        await card(page).waitFor({ state: "visible" });
        assertEquals(await card(page).getAttribute("data-call-id"), callId);
        assertEquals(await page.textContent("[data-testid=call-card-number]"), "+7 916 123-45-67");
        assertEquals(await card(page).getAttribute("data-ui-state"), "externalCard");

        const initialized = await eventNamed(worker, "initialized");
        assertEquals(initialized.data.CALL_ID, callId);
        assertEquals(initialized.data.CALL_DIRECTION, "incoming");
        assertEquals([initialized.data.CRM_ENTITY_TYPE, initialized.data.CRM_ENTITY_ID], [
          "CONTACT",
          1,
        ]);
        // CORE loads the CRM card (entityChanged) before it emits initialized.
        assertEquals((await events(worker)).map((e) => e.name).slice(0, 2), [
          "entityChanged",
          "initialized",
        ]);

        assertEquals(await call(worker, "CallCardSetUiState", { uiState: "connected" }), []);
        assertEquals(await call(worker, "CallCardSetCardTitle", { title: "Olga" }), []);
        assertEquals(await call(worker, "CallCardSetStatusText", { statusText: "Talking" }), []);
        assertEquals(await call(worker, "CallCardSetMute", { muted: true }), []);
        assertEquals(await call(worker, "CallCardSetUiState", { uiState: "bogus" }), [
          { result: "error", errorCode: "Invalid ui state" },
        ]);
        assertEquals((await call(worker, "CallCardGetListUiStates") as string[]).length, 12);
        assertEquals(await card(page).getAttribute("data-ui-state"), "connected");
        assertEquals(await card(page).getAttribute("data-timer"), "running");
        assertEquals(await card(page).getAttribute("data-muted"), "true");
        assertEquals(await page.textContent("[data-testid=call-card-title]"), "Olga");
        assertEquals(await page.textContent("[data-testid=call-card-status]"), "Talking");

        await page.click("[data-testid=call-card-mute]");
        assertEquals((await eventNamed(worker, "muteButtonClick")).data, false);
        await page.click("[data-testid=call-card-hold]");
        assertEquals((await eventNamed(worker, "holdButtonClick")).data, true);
        await page.click("[data-testid=call-card-dialpad]");
        await page.click("[data-testid=call-card-key-5]");
        assertEquals((await eventNamed(worker, "dialpadButtonClick")).data, "5");
        await page.click("[data-testid=call-card-transfer]");
        await page.click("[data-testid=call-card-transfer-user-3]");
        assertEquals((await eventNamed(worker, "transferButtonClick")).data, {
          phoneNumber: "+7 916 123-45-67",
          target: 3,
        });
        await page.click("[data-testid=call-card-hangup]");
        assertEquals((await eventNamed(worker, "hangupButtonClick")).data, "");

        assertEquals(await call(worker, "CallCardClose"), []);
        await card(page).waitFor({ state: "hidden" });
        await waitFor("card closed", () => !portal.state.calls.get(callId)!.shownTo.has(1));
        assertEquals(await call(worker, "CallCardSetMute", { muted: false }), [
          { result: "error", errorCode: "Call card is undefined" },
        ]);
        const logged = portal.pages.log({ kind: "command", name: "CallCardSetCardTitle" });
        assertEquals(logged.map((e) => [e.params, e.answer]), [
          [{ title: "Olga", isRawValue: false }, []],
        ]);
      });

      await t.step("CRM click-to-call: ONEXTERNALCALLSTART and the card", async () => {
        await page.goto(portal.pageUrl());
        worker = await appFrame(page, app, "/worker", worker);
        await page.click("[data-testid=crm-call-CONTACT-2]");
        const start = await waitFor(
          "ONEXTERNALCALLSTART",
          () => app.posts.find((p) => p.form.get("event") === "ONEXTERNALCALLSTART"),
        );
        const callId = start.form.get("data[CALL_ID]")!;
        assertEquals(start.form.get("data[PHONE_NUMBER]"), "+1 415 555 0100");
        await card(page).waitFor({ state: "visible" });
        assertEquals(await card(page).getAttribute("data-call-id"), callId);
        const initialized = await eventNamed(worker, "initialized", (d) => d.CALL_ID === callId);
        assertEquals(initialized.data.CALL_DIRECTION, "outgoing");
        await page.click("[data-testid=call-card-close]");
        await eventNamed(worker, "closeButtonClick");
        await card(page).waitFor({ state: "hidden" });
        await waitFor("card closed", () => !portal.state.calls.get(callId)!.shownTo.has(1));
      });

      await t.step("externalcall.show and hide open and close the card", async () => {
        const admin = portal.issueTokens({ userId: 1 });
        const reg = await rest(portal, "telephony.externalcall.register", {
          USER_ID: 1,
          PHONE_NUMBER: "+44 20 7946 0018",
          TYPE: 2,
          SHOW: 0,
          EXTERNAL_CALL_ID: "sip-call-1",
        }, admin.accessToken);
        const callId = reg.result.CALL_ID;
        await rest(portal, "telephony.externalcall.show", { CALL_ID: callId }, admin.accessToken);
        await card(page).waitFor({ state: "visible" });
        assertEquals(await card(page).getAttribute("data-call-id"), callId);
        await eventNamed(worker, "initialized", (d) => d.CALL_ID === callId);
        assertEquals(await call(worker, "CallCardSetUiState", { uiState: "incoming" }), []);
        await page.click("[data-testid=call-card-answer]");
        await eventNamed(worker, "answerButtonClick");
        await rest(portal, "telephony.externalcall.hide", { CALL_ID: callId }, admin.accessToken);
        await card(page).waitFor({ state: "hidden" });
      });

      await t.step("refreshAuth and the origin check", async () => {
        const before = (await worker.evaluate("window.init") as Any).auth.access_token;
        const after = await worker.evaluate(
          "window.b24.auth.refreshAuth().then((a) => a.access_token)",
        ) as string;
        assertNotEquals(after, before);
        assertEquals((await rest(portal, "user.current", {}, after)).result.ID, "1");
        const sid = new URL(worker.url()).searchParams.get("APP_SID")!;
        await page.evaluate((s) => postMessage(`getInitData:k1:${s}`, "*"), sid);
        const dropped = await waitFor(
          "dropped message",
          () => portal.pages.log({ kind: "dropped", name: "getInitData" })[0],
        );
        assert(dropped.reason!.startsWith(`origin ${portal.url} is not ${app.url}`));
      });

      await t.step("slow background worker loads remove the placement", async () => {
        portal.state.options.pages.maxLoadDelayMs = 0;
        portal.state.options.pages.maxOvertimeCount = 1;
        for (let i = 0; i < 2; i++) {
          const before = portal.pages.frameLoads().length;
          await page.goto(portal.pageUrl({ placement: "DEFAULT" }));
          await waitFor("load", () => portal.pages.frameLoads().length > before + 1);
        }
        const report = await waitFor("overtime report", () => portal.pages.overtimeReports()[0]);
        assertEquals(report.body.error, "ERROR_PLACEMENT_LOADING_OVERTIME");
        const posted = app.posts.find((p) => p.path === "/error")!;
        assertEquals(posted.form.get("error"), "ERROR_PLACEMENT_LOADING_OVERTIME");
        assert(!portal.state.placements.some((p) => p.placement === "PAGE_BACKGROUND_WORKER"));
      });
      assertEquals(errors, []);
    } finally {
      await browser.close();
      await portal.close();
      await app.close();
    }
  },
});
