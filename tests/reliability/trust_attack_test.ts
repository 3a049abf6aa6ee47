/**
 * Cached trust follows the portal (issue 19 item 7), through HTTP against the portal emulator:
 *
 * - a user the portal deactivates loses access, and an administrator it demotes loses the
 *   admin actions, within the re-check interval (shortened here), while many requests of one
 *   user within it cost the portal one re-check, not one call each;
 * - a token past its life (the frame's `AUTH_EXPIRES`, or `X-Auth-Expires`) is not trusted
 *   from the cache;
 * - the placement error handler's secret dies with an uninstall (a reinstall issues another);
 * - placement errors kept per portal are capped, the oldest dropped.
 */
import { assert, assertEquals, assertNotEquals } from "../support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "../support/bitrix.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { readJson } from "../support/http.ts";
import { sleep, waitFor } from "../support/wait.ts";
import { installEvents, portals } from "../../lib/server/db/schema.ts";
import { PLACEMENT_ERRORS_KEPT } from "../../lib/server/db/portals.ts";

const ADMIN = 1;
const ANNA = 2;
/** A second administrator, the one who is demoted. */
const OLGA = 6;
const RECHECK_MS = 2000;
const PASSWORD = "anna-sip-secret-7f3a";
const ACCOUNT = { url: "wss://pbx.example.com/ws", user: "102", password: PASSWORD };
const HARNESS = { sanitizeResources: false, sanitizeOps: false };
const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function status(res: Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

/** Installs the app and saves the local app's credentials (as the admin panel does). */
async function install(h: BitrixHarness): Promise<void> {
  assertEquals((await h.install()).status, 200);
  const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
  const update = h.widget(ADMIN, { event: "UPDATECREED", ...creds }, { fresh: true });
  assertEquals(await status(update), 200);
}

/** How often the portal was asked who `userId` is (`user.current`, alone or in a batch). */
function askedAbout(h: BitrixHarness, userId: number): number {
  return h.portal.records.calls("user.current").filter((c) => c.userId === userId).length;
}

Deno.test({
  name: "[trust] a deactivated user and a demoted admin lose access within the re-check interval",
  ...HARNESS,
  fn: () =>
    withCapturedLogs(async () => {
      await using h = await startBitrixHarness({
        portal: { rateLimit: false },
        bitrix: { frameRecheckMs: RECHECK_MS },
      });
      h.portal.addUser({ id: OLGA, name: "Olga", admin: true });
      await install(h);
      assertEquals(
        await status(h.widget(ADMIN, { event: "SAVEUSERDATA", userId: ANNA, ...ACCOUNT })),
        200,
      );
      const mine = await readJson(h.widget(ANNA, { event: "GETME" }));
      assertEquals(mine.body.account.password, PASSWORD);
      assertEquals(await status(h.widget(OLGA, { event: "GETPLACEMENTERRORS" })), 200);

      h.portal.updateUser(ANNA, { active: false });
      h.portal.updateUser(OLGA, { admin: false });
      await sleep(RECHECK_MS);

      const refused = await readJson(h.widget(ANNA, { event: "GETME" }));
      assertEquals(refused.status, 401);
      assertEquals(JSON.stringify(refused.body).includes(PASSWORD), false);
      assertEquals(
        await status(h.widget(ANNA, { event: "GETUSERDATA", userId: ANNA })),
        401,
        "every request of hers",
      );
      assertEquals(await status(h.widget(OLGA, { event: "GETPLACEMENTERRORS" })), 403);
      assertEquals(
        await status(h.widget(OLGA, { event: "SAVEUSERDATA", userId: ANNA, ...ACCOUNT })),
        403,
      );
      const demoted = await readJson(h.widget(OLGA, { event: "GETME" }));
      assertEquals([demoted.status, demoted.body.isAdmin], [200, false]);
      // The untouched administrator keeps everything.
      assertEquals(await status(h.widget(ADMIN, { event: "GETPLACEMENTERRORS" })), 200);
      // A fresh page of the demoted admin shows no admin panel.
      const page = await h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId: OLGA }).post();
      const html = await page.text();
      assertEquals(page.status, 200);
      assertEquals(html.includes('data-island="Admin"'), false, "no admin island");
    }),
});

Deno.test({
  name: "[trust] one re-check per user per interval: concurrent requests share it",
  ...HARNESS,
  fn: () =>
    withCapturedLogs(async () => {
      await using h = await startBitrixHarness({
        portal: { rateLimit: false },
        bitrix: { frameRecheckMs: RECHECK_MS },
      });
      await install(h);
      assertEquals(await status(h.widget(ANNA, { event: "GETME" })), 200);
      const first = askedAbout(h, ANNA);
      assertEquals(first, 1, "her token was verified once");
      for (let i = 0; i < 5; i++) {
        assertEquals(await status(h.widget(ANNA, { event: "GETME" })), 200);
      }
      assertEquals(askedAbout(h, ANNA), first, "cached within the interval");

      await sleep(RECHECK_MS);
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () => status(h.widget(ANNA, { event: "GETME" }))),
      );
      assertEquals(statuses, Array(10).fill(200));
      assertEquals(askedAbout(h, ANNA), first + 1, "ten requests, one re-check");
      // A second token of hers is verified on its own, and renews her standing.
      assertEquals(await status(h.widget(ANNA, { event: "GETME" }, { fresh: true })), 200);
      assertEquals(askedAbout(h, ANNA), first + 2);
    }),
});

Deno.test({
  name: "[trust] a token past its expiry is not trusted from the cache",
  ...HARNESS,
  fn: () =>
    withCapturedLogs(async () => {
      const ttlSec = 3;
      await using h = await startBitrixHarness({
        portal: { rateLimit: false, accessTokenTtlSec: ttlSec },
      });
      assertEquals((await h.install()).status, 200);
      const getMe = (token: string, headers: Record<string, string> = {}) =>
        fetch(`${h.app.url}/api/bitrix/widget`, {
          method: "POST",
          headers: {
            authorization: `Bearer ${token}`,
            "x-member-id": h.portal.memberId,
            "content-type": "application/json",
            ...headers,
          },
          body: JSON.stringify({ event: "GETME" }),
        });
      // A page load: the portal says AUTH_EXPIRES, the page's token is trusted that long.
      const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/`, userId: ANNA });
      assertEquals(load.fields.AUTH_EXPIRES, String(ttlSec));
      assertEquals(await status(load.post()), 200);
      assertEquals(await status(getMe(load.fields.AUTH_ID)), 200);
      // An API request first: `X-Auth-Expires` says the same.
      const api = h.portal.issueTokens({ userId: ANNA });
      const expires = { "x-auth-expires": String(api.expiresIn) };
      assertEquals(await status(getMe(api.accessToken, expires)), 200);
      const batches = () => h.portal.records.calls("batch").length;
      const asked = batches();

      await sleep(ttlSec * 1000 + 200);
      assertEquals(await status(getMe(load.fields.AUTH_ID)), 401);
      assertEquals(await status(getMe(api.accessToken, expires)), 401);
      assertEquals(batches(), asked + 2, "the portal was asked, not the cache");
    }),
});

/** The placement error handler URL given to Bitrix24 at the latest install. */
function errorHandlerUrl(h: BitrixHarness): string {
  const bind = h.portal.records.calls("placement.bind").findLast((c) =>
    c.params.PLACEMENT === "PAGE_BACKGROUND_WORKER"
  );
  return String((bind?.params.OPTIONS as Record<string, string>).errorHandlerUrl);
}

function reportError(url: string, description = "the worker took too long"): Promise<number> {
  return status(fetch(url, {
    method: "POST",
    headers: FORM,
    body: new URLSearchParams({
      error: "ERROR_PLACEMENT_LOADING_OVERTIME",
      error_description: description,
    }),
  }));
}

Deno.test({
  name: "[trust] the placement error secret no longer works after an uninstall",
  ...HARNESS,
  fn: () =>
    withCapturedLogs(async () => {
      await using h = await startBitrixHarness({ portal: { rateLimit: false } });
      await install(h);
      const url = errorHandlerUrl(h);
      assertEquals(await reportError(url), 200);
      const [uninstall] = await h.portal.uninstallApp({ clean: false });
      assertEquals(uninstall.status, 200);
      const row = async () => (await h.app.services.database.db.select().from(portals))[0];
      await waitFor("the uninstall", async () => (await row()).installed === false);
      assertEquals((await row()).errorTokenHash, null);
      assertEquals(await reportError(url), 401);

      // A reinstall issues another secret; the old one stays dead.
      await install(h);
      const fresh = errorHandlerUrl(h);
      assertNotEquals(fresh, url);
      assertEquals(await reportError(url), 401);
      assertEquals(await reportError(fresh), 200);
      // Without the secret nothing is looked at: a broken body gets 401 too.
      assertEquals(await status(fetch(url, { method: "POST", headers: FORM, body: "%" })), 401);
    }),
});

Deno.test({
  name: "[trust] placement errors kept per portal are capped, the oldest dropped",
  ...HARNESS,
  fn: () =>
    withCapturedLogs(async () => {
      await using h = await startBitrixHarness({ portal: { rateLimit: false } });
      await install(h);
      const url = errorHandlerUrl(h);
      const sent = PLACEMENT_ERRORS_KEPT + 10;
      for (let i = 0; i < sent; i++) assertEquals(await reportError(url, `report ${i}`), 200);
      const kept = (await h.app.services.database.db.select().from(installEvents))
        .filter((e) => e.kind === "placement_error")
        .map((e) => String(e.details.error_description));
      assertEquals(kept.length, PLACEMENT_ERRORS_KEPT);
      assert(kept.includes(`report ${sent - 1}`), "the newest is kept");
      assertEquals(kept.includes("report 9"), false, "the oldest are dropped");
      assert(kept.includes("report 10"));
      const listed = await readJson(h.widget(ADMIN, { event: "GETPLACEMENTERRORS" }));
      assertEquals(listed.body.errors[0].error_description, `report ${sent - 1}`);
    }),
});
