// Tests of the Bitrix24 portal emulator itself, over real HTTP on loopback.
import assert from "node:assert/strict";
import { B24OAuth } from "@bitrix24/b24jssdk";
import { type Portal, type PortalOptions, startPortal, type TokenSet } from "../dev/portal/mod.ts";
import { sleep } from "./support/wait.ts";
import { type JsonAnswer as Answer, readJson } from "./support/http.ts";

/** POSTs JSON to /rest/<method> with `auth`. */
function rest(
  portal: Portal,
  method: string,
  params: Record<string, unknown> = {},
  token?: string,
): Promise<Answer> {
  return readJson(fetch(`${portal.clientEndpoint}${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(token === undefined ? params : { ...params, auth: token }),
  }));
}

function refresh(portal: Portal, refreshToken: string, secret?: string): Promise<Answer> {
  return readJson(fetch(portal.tokenUrl, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "refresh_token",
      client_id: portal.app.clientId,
      client_secret: secret ?? portal.app.clientSecret,
      refresh_token: refreshToken,
    }),
  }));
}

/** A tiny app stand-in that keeps every form POST it receives. */
function startReceiver() {
  const got: { path: string; form: URLSearchParams }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    got.push({ path: new URL(req.url).pathname, form: new URLSearchParams(await req.text()) });
    return new Response("ok");
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    got,
    close: () => server.shutdown(),
  };
}

async function withPortal(
  options: PortalOptions,
  fn: (portal: Portal, admin: TokenSet) => Promise<void>,
): Promise<void> {
  const portal = await startPortal({ rateLimit: false, ...options });
  try {
    await fn(portal, portal.issueTokens({ userId: 1 }));
  } finally {
    await portal.close();
  }
}

Deno.test("portal emulator - refresh tokens rotate; bad secrets and old tokens are refused", async () => {
  await withPortal({}, async (portal, admin) => {
    const first = await refresh(portal, admin.refreshToken);
    assert.equal(first.status, 200);
    assert.notEqual(first.body.refresh_token, admin.refreshToken);
    assert.equal(first.body.member_id, portal.memberId);
    assert.equal(first.body.client_endpoint, portal.clientEndpoint);
    assert.equal(first.body.server_endpoint, portal.serverEndpoint);
    assert.equal(first.body.domain, portal.oauthDomain);
    assert.equal(first.body.expires_in, 3600);
    assert.equal(first.body.user_id, 1);
    assert.equal(first.body.status, "L");

    const reused = await refresh(portal, admin.refreshToken);
    assert.equal(reused.status, 400);
    assert.equal(reused.body.error, "invalid_grant");

    const wrongSecret = await refresh(portal, first.body.refresh_token, "nope");
    assert.equal(wrongSecret.status, 401);
    assert.equal(wrongSecret.body.error, "invalid_client");

    const user = await rest(portal, "user.current", {}, first.body.access_token);
    assert.equal(user.body.result.ID, "1");

    portal.expireRefreshTokens();
    const expired = await refresh(portal, first.body.refresh_token);
    assert.equal(expired.body.error, "invalid_grant");

    const get = await fetch(
      `${portal.tokenUrl}?grant_type=refresh_token&client_id=${portal.app.clientId}` +
        `&client_secret=${portal.app.clientSecret}&refresh_token=${portal.issueTokens().refreshToken}`,
    );
    assert.equal(get.status, 200);
    await get.body?.cancel();
    assert.deepEqual(portal.records.oauth().map((r) => r.status), [200, 400, 401, 400, 200]);
  });
});

Deno.test("portal emulator - another local app's tokens: its own app.info, no refresh for ours", async () => {
  await withPortal({}, async (portal) => {
    const other = portal.issueTokens({ userId: 2, otherApp: "local.other.1" });
    const info = await rest(portal, "app.info", {}, other.accessToken);
    assert.equal(info.body.result.CODE, "local.other.1");
    assert.equal(info.body.result.STATUS, "L");
    assert.notEqual(
      info.body.result.ID,
      (await rest(portal, "app.info", {}, portal.issueTokens().accessToken)).body.result.ID,
    );
    assert.equal((await refresh(portal, other.refreshToken)).body.error, "invalid_grant");
  });
});

Deno.test("portal emulator - access tokens expire; auth errors have the portal's shapes", async () => {
  await withPortal({ accessTokenTtlSec: 60 }, async (portal, admin) => {
    assert.equal((await rest(portal, "app.info", {}, admin.accessToken)).status, 200);
    portal.advanceTime(61_000);
    assert.deepEqual(await rest(portal, "app.info", {}, admin.accessToken), {
      status: 401,
      body: { error: "expired_token", error_description: "The access token provided has expired" },
    });
    const fresh = portal.issueTokens({ userId: 2 });
    portal.expireAllTokens();
    assert.equal(
      (await rest(portal, "user.current", {}, fresh.accessToken)).body.error,
      "expired_token",
    );

    const unknown = await rest(portal, "app.info", {}, "garbage");
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error, "invalid_token");
    const none = await rest(portal, "app.info");
    assert.deepEqual(none.body, {
      error: "NO_AUTH_FOUND",
      error_description: "Wrong authorization data",
    });
    const missing = await rest(portal, "no.such.method", {}, "garbage");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error, "ERROR_METHOD_NOT_FOUND");
  });
});

Deno.test("portal emulator - a deactivated user's tokens are refused; a demoted admin is no admin", async () => {
  await withPortal({}, async (portal, admin) => {
    const anna = portal.issueTokens({ userId: 2 });
    const current = await rest(portal, "user.current", {}, anna.accessToken);
    assert.equal(current.body.result.ACTIVE, true);
    portal.updateUser(2, { active: false });
    // CORE CRestUtil::makeAuth: the token is known and alive, but its user cannot be authorized.
    for (const method of ["user.current", "user.admin", "app.info"]) {
      assert.deepEqual(await rest(portal, method, {}, anna.accessToken), {
        status: 401,
        body: { error: "authorization_error", error_description: "Unable to authorize user" },
      });
    }
    const dead = await refresh(portal, anna.refreshToken);
    assert.equal(dead.status, 400);
    assert.equal(dead.body.error, "invalid_grant");
    portal.updateUser(2, { active: true });
    assert.equal((await rest(portal, "user.current", {}, anna.accessToken)).status, 200);
    assert.equal((await refresh(portal, anna.refreshToken)).body.error, "invalid_grant");

    assert.equal((await rest(portal, "user.admin", {}, admin.accessToken)).body.result, true);
    portal.updateUser(1, { admin: false });
    assert.equal((await rest(portal, "user.admin", {}, admin.accessToken)).body.result, false);
    assert.equal((await rest(portal, "profile", {}, admin.accessToken)).body.result.ADMIN, false);
  });
});

Deno.test("portal emulator - requests in JSON, form, query and Bearer form; time block", async () => {
  await withPortal({}, async (portal, admin) => {
    const base = portal.clientEndpoint;
    const viaForm = await fetch(`${base}user.get.json`, {
      method: "POST",
      body: new URLSearchParams({ auth: admin.accessToken, "FILTER[%LAST_NAME]": "ова" }),
    }).then((r) => r.json());
    assert.deepEqual(viaForm.result.map((u: { ID: string }) => u.ID), ["2"]);
    assert.equal(viaForm.total, 1);
    assert.equal(typeof viaForm.time.start, "number");
    assert.equal(typeof viaForm.time.date_start, "string");

    const viaQuery = await fetch(`${base}user.current?auth=${admin.accessToken}`).then((r) =>
      r.json()
    );
    assert.equal(viaQuery.result.NAME, "Иван");
    const viaBearer = await fetch(`${base}/telephony.externalLine.get`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.accessToken}`, origin: "http://127.0.0.1:1" },
    });
    assert.equal(viaBearer.headers.get("access-control-allow-origin"), "*");
    assert.equal(viaBearer.headers.get("content-type"), "application/json; charset=utf-8");
    assert.deepEqual((await viaBearer.json()).result, []);
    const preflight = await fetch(`${base}app.info`, {
      method: "OPTIONS",
      headers: { origin: "http://127.0.0.1:1", "access-control-request-method": "POST" },
    });
    assert.equal(preflight.status, 204);
    assert.match(preflight.headers.get("access-control-allow-headers") ?? "", /content-type/);
    await preflight.body?.cancel();

    const rec = portal.records.calls("user.get")[0];
    assert.equal(rec.userId, 1);
    assert.equal(rec.params.auth, undefined);
    assert.deepEqual(rec.params.FILTER, { "%LAST_NAME": "ова" });
  });
});

Deno.test("portal emulator - user.get pages by 50 with total and next; search; admin flags", async () => {
  await withPortal({}, async (portal, admin) => {
    for (let i = 0; i < 60; i++) portal.addUser({ name: `Temp${i}`, lastName: "Worker" });
    const page1 = await rest(
      portal,
      "user.get",
      { FILTER: { LAST_NAME: "Worker" } },
      admin.accessToken,
    );
    assert.equal(page1.body.result.length, 50);
    assert.equal(page1.body.total, 60);
    assert.equal(page1.body.next, 50);
    const page2 = await rest(
      portal,
      "user.get",
      { LAST_NAME: "worker", start: 50, sort: "ID", order: "DESC" },
      admin.accessToken,
    );
    assert.equal(page2.body.result.length, 10);
    assert.equal(page2.body.next, undefined);
    assert.equal(page2.body.result[0].NAME, "Temp9");

    const found = await rest(portal, "user.search", { FIND: "john" }, admin.accessToken);
    assert.deepEqual(found.body.result.map((u: { NAME: string }) => u.NAME), ["John"]);
    // user.get's quick search is NAME_SEARCH; FIND is an unknown key there and is ignored.
    const names = (r: { body: { result: { NAME: string }[] } }) => r.body.result.map((u) => u.NAME);
    const byName = await rest(
      portal,
      "user.get",
      { FILTER: { ACTIVE: true, NAME_SEARCH: "john" } },
      admin.accessToken,
    );
    assert.deepEqual(names(byName), ["John"]);
    const ignored = await rest(
      portal,
      "user.get",
      { FILTER: { ACTIVE: true, FIND: "john" } },
      admin.accessToken,
    );
    assert.ok(names(ignored).includes("John") && names(ignored).includes("Анна"));
    const inactive = await rest(portal, "user.get", { ACTIVE: false }, admin.accessToken);
    assert.deepEqual(inactive.body.result.map((u: { ID: string }) => u.ID), ["5"]);

    const employee = portal.issueTokens({ userId: 3 });
    assert.equal((await rest(portal, "user.admin", {}, employee.accessToken)).body.result, false);
    assert.equal((await rest(portal, "user.admin", {}, admin.accessToken)).body.result, true);
    const profile = await rest(portal, "profile", {}, employee.accessToken);
    assert.equal(profile.body.result.ADMIN, false);
  });
});

Deno.test("portal emulator - app.info for local and marketplace apps; scopes are enforced", async () => {
  await withPortal({ app: { type: "local", clientId: "local.abc.123" } }, async (portal, admin) => {
    const info = (await rest(portal, "app.info", {}, admin.accessToken)).body.result;
    assert.equal(info.CODE, "local.abc.123");
    assert.equal(info.STATUS, "L");
    assert.equal(info.INSTALLED, true);
  });
  await withPortal({ app: { type: "market", clientId: "app.x.1" } }, async (portal, admin) => {
    const info = (await rest(portal, "app.info", {}, admin.accessToken)).body.result;
    assert.equal(info.CODE, "vendor.sipphone");
  });
  await withPortal(
    { app: { type: "market", code: "vendor.phone", status: "P", scope: ["user"] } },
    async (portal, admin) => {
      const info = (await rest(portal, "app.info", {}, admin.accessToken)).body.result;
      assert.equal(info.CODE, "vendor.phone");
      assert.equal(info.STATUS, "P");
      assert.match(portal.app.clientId, /^app\./);
      const denied = await rest(portal, "telephony.externalLine.get", {}, admin.accessToken);
      assert.equal(denied.body.error, "insufficient_scope");
    },
  );
});

Deno.test("portal emulator - leaky bucket: burst then QUERY_LIMIT_EXCEEDED 503, drains over time", async () => {
  const portal = await startPortal({ rateLimit: { burst: 5, drainPerSec: 2 }, now: () => 1e12 });
  try {
    const t = portal.issueTokens();
    const statuses = [];
    for (let i = 0; i < 6; i++) {
      statuses.push((await rest(portal, "app.info", {}, t.accessToken)).status);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 503]);
    const limited = await rest(portal, "app.info", {}, t.accessToken);
    assert.deepEqual(limited.body, {
      error: "QUERY_LIMIT_EXCEEDED",
      error_description: "Too many requests",
    });
    portal.advanceTime(1000);
    assert.equal((await rest(portal, "app.info", {}, t.accessToken)).status, 200);
    assert.equal((await rest(portal, "app.info", {}, t.accessToken)).status, 200);
    assert.equal((await rest(portal, "app.info", {}, t.accessToken)).status, 503);
  } finally {
    await portal.close();
  }
});

Deno.test("portal emulator - batch: references, halt, length limit, no nesting", async () => {
  await withPortal({}, async (portal, admin) => {
    const linked = await rest(portal, "batch", {
      halt: 0,
      cmd: {
        me: "user.current",
        same: "user.get?ID=$result[me][ID]",
        bad: "no.such",
        nested: "batch?cmd[x]=app.info",
      },
    }, admin.accessToken);
    assert.equal(linked.status, 200);
    const r = linked.body.result;
    assert.equal(r.result.same[0].ID, "1");
    assert.equal(r.result_total.same, 1);
    assert.equal(r.result_error.bad.error, "ERROR_METHOD_NOT_FOUND");
    assert.equal(r.result_error.nested.error, "ERROR_BATCH_METHOD_NOT_ALLOWED");
    assert.deepEqual(r.result_next, []);
    assert.ok(r.result_time.me.start);

    const halted = await rest(portal, "batch", {
      halt: 1,
      cmd: ["user.current", "no.such", "app.info"],
    }, admin.accessToken);
    assert.deepEqual(Object.keys(halted.body.result.result), ["0"]);
    assert.deepEqual(Object.keys(halted.body.result.result_error), ["1"]);

    const cmd = Array.from({ length: 51 }, () => "user.admin");
    const long = await rest(portal, "batch", { cmd }, admin.accessToken);
    assert.equal(long.body.result.result.length, 50);
    assert.equal(long.body.result.result_error["50"].error, "ERROR_BATCH_LENGTH_EXCEEDED");
    assert.equal(portal.records.calls("user.admin").filter((c) => c.batchKey).length, 50);
  });
});

Deno.test("portal emulator - injected faults", async () => {
  await withPortal({}, async (portal, admin) => {
    portal.setFault({ method: "user.current", kind: "query_limit", times: 2 });
    const codes = [];
    for (let i = 0; i < 3; i++) {
      codes.push((await rest(portal, "user.current", {}, admin.accessToken)).status);
    }
    assert.deepEqual(codes, [503, 503, 200]);

    portal.setFault({ kind: "503", forMs: 1000 });
    const html = await fetch(`${portal.clientEndpoint}app.info`, { method: "POST" });
    assert.equal(html.status, 503);
    assert.match(await html.text(), /nginx/);
    portal.advanceTime(1001);
    assert.equal((await rest(portal, "app.info", {}, admin.accessToken)).status, 200);

    portal.setFault({ method: "app.info.json", kind: "expired_token", times: 1 });
    assert.equal(
      (await rest(portal, "app.info", {}, admin.accessToken)).body.error,
      "expired_token",
    );
    portal.setFault({ method: "app.info", kind: "500", times: 1 });
    assert.equal((await rest(portal, "app.info", {}, admin.accessToken)).status, 500);

    portal.setFault({ method: "app.info", kind: "timeout", times: 1 });
    await assert.rejects(
      fetch(`${portal.clientEndpoint}app.info`, { signal: AbortSignal.timeout(200) }),
    );
    portal.setFault({ method: "oauth.token", kind: "503", times: 1 });
    const failedRefresh = await fetch(portal.tokenUrl, { method: "POST" });
    assert.equal(failedRefresh.status, 503);
    await failedRefresh.body?.cancel();
    portal.setFault({ method: "app.info", kind: "timeout" });
    const held = fetch(`${portal.clientEndpoint}app.info`);
    await sleep(50);
    portal.clearFaults();
    await portal.close();
    const released = await held;
    assert.equal(released.status, 504);
    await released.body?.cancel();
  });
});

Deno.test("portal emulator - bound events are delivered form-encoded with bracket keys", async () => {
  const app = startReceiver();
  try {
    await withPortal({}, async (portal, admin) => {
      for (const event of ["ONEXTERNALCALLSTART", "ONAPPUNINSTALL"]) {
        const bound = await rest(
          portal,
          "event.bind",
          { event, handler: `${app.url}/events` },
          admin.accessToken,
        );
        assert.equal(bound.body.result, true);
      }
      const again = await rest(
        portal,
        "event.bind",
        { event: "ONEXTERNALCALLSTART", handler: `${app.url}/events` },
        admin.accessToken,
      );
      assert.equal(again.body.error, "ERROR_CORE");
      const unknown = await rest(
        portal,
        "event.bind",
        { event: "ONNOTHING", handler: `${app.url}/events` },
        admin.accessToken,
      );
      assert.equal(unknown.body.error, "ERROR_EVENT_NOT_FOUND");
      const list = await rest(portal, "event.get", {}, admin.accessToken);
      assert.equal(list.body.result.length, 2);

      const { callId } = await portal.clickToCall({ userId: 2, phoneNumber: "+7 916 123-45-67" });
      assert.match(callId, /^externalCall\.[0-9a-f]{32}\.\d+$/);
      const start = app.got[0].form;
      assert.equal(start.get("event"), "ONEXTERNALCALLSTART");
      assert.equal(start.get("data[CALL_ID]"), callId);
      assert.equal(start.get("data[USER_ID]"), "2");
      assert.equal(start.get("data[CRM_ENTITY_TYPE]"), "CONTACT");
      assert.equal(start.get("auth[member_id]"), portal.memberId);
      assert.equal(start.get("auth[application_token]"), portal.app.applicationToken);
      assert.equal(start.get("auth[user_id]"), "2");
      assert.equal(start.get("auth[refresh_token]"), null);
      const eventToken = start.get("auth[access_token]")!;
      assert.equal((await rest(portal, "user.current", {}, eventToken)).body.result.ID, "2");

      const forged = await portal.deliverEvent({
        url: `${app.url}/events`,
        event: "ONAPPINSTALL",
        applicationToken: "forged",
      });
      assert.equal(forged.status, 200);
      assert.equal(app.got[1].form.get("auth[application_token]"), "forged");
      assert.ok(app.got[1].form.get("auth[refresh_token]"));

      const gone = await portal.uninstallApp({ clean: true });
      assert.equal(gone.length, 1);
      const bye = app.got[2].form;
      assert.equal(bye.get("event"), "ONAPPUNINSTALL");
      assert.equal(bye.get("data[CLEAN]"), "1");
      assert.equal(bye.get("auth[access_token]"), null);
      assert.equal(bye.get("auth[application_token]"), portal.app.applicationToken);

      const dead = await rest(portal, "app.info", {}, admin.accessToken);
      assert.equal(dead.body.error, "APPLICATION_NOT_FOUND");
      assert.equal((await refresh(portal, admin.refreshToken)).body.error, "invalid_client");
      assert.deepEqual(await portal.fireEvent("ONEXTERNALCALLSTART", {}), []);
      assert.deepEqual(portal.records.events().map((e) => e.status), [200, 200, 200]);
    });
  } finally {
    await app.close();
  }
});

Deno.test("portal emulator - install flow: installer POST, events only after installFinish", async () => {
  const app = startReceiver();
  try {
    await withPortal({ installed: false }, async (portal) => {
      const { page } = await portal.installApp({ handlerUrl: `${app.url}/install?x=1` });
      assert.ok(page);
      const url = new URL(page.url);
      assert.equal(url.searchParams.get("DOMAIN"), portal.domain);
      assert.equal(url.searchParams.get("PROTOCOL"), "0");
      assert.equal(url.searchParams.get("APP_SID"), page.appSid);
      assert.equal(url.searchParams.get("x"), "1");
      assert.equal(page.frameName, `${portal.domain}|0|${page.appSid}`);
      assert.equal((await page.post()).status, 200);
      const posted = app.got[0].form;
      assert.equal(posted.get("PLACEMENT"), "DEFAULT");
      assert.equal(posted.get("member_id"), portal.memberId);
      assert.equal(posted.get("AUTH_EXPIRES"), "3600");
      assert.equal(posted.get("APPLICATION_TOKEN"), null);
      const token = posted.get("AUTH_ID")!;

      assert.equal((await rest(portal, "app.info", {}, token)).body.result.INSTALLED, false);
      await rest(portal, "event.bind", { event: "ONAPPINSTALL", handler: `${app.url}/ev` }, token);
      const noWorker = await rest(portal, "placement.bind", {
        PLACEMENT: "PAGE_BACKGROUND_WORKER",
        HANDLER: `${app.url}/worker`,
      }, token);
      assert.equal(noWorker.status, 200);
      assert.equal(noWorker.body.result.error, "EMPTY_ERROR_HANDLER_URL");
      const worker = await rest(portal, "placement.bind", {
        PLACEMENT: "PAGE_BACKGROUND_WORKER",
        HANDLER: `${app.url}/worker`,
        OPTIONS: { errorHandlerUrl: `${app.url}/worker-error`, junk: 1 },
      }, token);
      assert.equal(worker.body.result, true);
      const twice = await rest(portal, "placement.bind", {
        PLACEMENT: "PAGE_BACKGROUND_WORKER",
        HANDLER: `${app.url}/worker2`,
        OPTIONS: { errorHandlerUrl: `${app.url}/worker-error` },
      }, token);
      assert.equal(twice.status, 400);
      assert.equal(twice.body.error, "ERROR_PLACEMENT_MAX_COUNT");
      const local = await rest(portal, "placement.bind", {
        PLACEMENT: "LEFT_MENU",
        HANDLER: "http://localhost/x",
      }, token);
      assert.equal(local.body.error, "ERROR_WRONG_HANDLER_URL");
      const got = await rest(portal, "placement.get", {}, token);
      assert.deepEqual(got.body.result[0].options, { errorHandlerUrl: `${app.url}/worker-error` });
      const employee = portal.issueTokens({ userId: 3 });
      const denied = await rest(portal, "placement.get", {}, employee.accessToken);
      assert.equal(denied.status, 403);
      assert.equal(denied.body.error, "ACCESS_DENIED");

      assert.equal(portal.records.events().length, 0);
      const sent = await portal.finishInstall();
      assert.equal(sent.length, 1);
      const install = app.got[1].form;
      assert.equal(install.get("event"), "ONAPPINSTALL");
      assert.equal(install.get("data[INSTALLED]"), "Y");
      assert.ok(install.get("auth[refresh_token]"));
      assert.equal(install.get("auth[application_token]"), portal.app.applicationToken);
      assert.equal((await rest(portal, "app.info", {}, token)).body.result.INSTALLED, true);
      assert.deepEqual(await portal.finishInstall(), []);
      const unbound = await rest(portal, "placement.unbind", {
        PLACEMENT: "PAGE_BACKGROUND_WORKER",
      }, token);
      assert.deepEqual(unbound.body.result, { count: 2 });
    });
    await withPortal({ installed: false }, async (portal) => {
      const { page, events } = await portal.installApp({
        handlerUrl: `${app.url}/hook`,
        ui: false,
      });
      assert.equal(page, null);
      assert.equal(events[0].status, 200);
      assert.equal(portal.app.installed, true);
      assert.equal(app.got.at(-1)?.path, "/hook");
      assert.equal(app.got.at(-1)?.form.get("event"), "ONAPPINSTALL");
    });
  } finally {
    await app.close();
  }
});

Deno.test("portal emulator - telephony: lines, register de-duplication, finish, records", async () => {
  await withPortal({}, async (portal, admin) => {
    const t = admin.accessToken;
    assert.deepEqual(
      (await rest(portal, "telephony.externalLine.add", { NUMBER: "100", NAME: "Main" }, t))
        .body.result.ID > 0,
      true,
    );
    const dup = await rest(portal, "telephony.externalLine.add", { NUMBER: "100" }, t);
    assert.deepEqual(dup.body, { error: "ERROR_CORE", error_description: "Line already exists" });
    const updated = await rest(
      portal,
      "telephony.externalLine.update",
      { NUMBER: "100", CRM_AUTO_CREATE: "N" },
      t,
    );
    assert.equal(updated.status, 200);
    const lines = (await rest(portal, "telephony.externalLine.get", {}, t)).body.result;
    assert.deepEqual(lines, [{ NUMBER: "100", NAME: "Main", CRM_AUTO_CREATE: "N" }]);

    const reg = { USER_ID: 2, PHONE_NUMBER: "+79161234567", TYPE: 2, LINE_NUMBER: "100" };
    const a = (await rest(portal, "telephony.externalcall.register", reg, t)).body.result;
    assert.equal(a.CRM_ENTITY_TYPE, "CONTACT");
    assert.equal(a.CRM_ENTITY_ID, 1);
    const b = (await rest(portal, "telephony.externalCall.register", reg, t)).body.result;
    assert.equal(b.CALL_ID, a.CALL_ID);
    const c = (await rest(portal, "telephony.externalCall.register", {
      ...reg,
      EXTERNAL_CALL_ID: "sip-call-1",
    }, t)).body.result;
    assert.notEqual(c.CALL_ID, a.CALL_ID);
    const lead = (await rest(portal, "telephony.externalCall.register", {
      USER_PHONE_INNER: "103",
      PHONE_NUMBER: "+15550001111",
      TYPE: 2,
      CRM_CREATE: 1,
    }, t)).body.result;
    assert.equal(lead.CRM_ENTITY_TYPE, "LEAD");
    assert.equal(lead.CRM_CREATED_ENTITIES[0].ENTITY_ID, lead.CRM_CREATED_LEAD);
    const badType = await rest(portal, "telephony.externalCall.register", { ...reg, TYPE: 9 }, t);
    assert.equal(badType.body.error_description, "Unknown TYPE");
    const inactive = await rest(
      portal,
      "telephony.externalCall.register",
      { ...reg, USER_ID: 5 },
      t,
    );
    assert.equal(inactive.body.error_description, "User is not found or is not active");

    const early = await rest(portal, "telephony.externalCall.attachRecord", {
      CALL_ID: a.CALL_ID,
      FILENAME: "a.mp3",
      FILE_CONTENT: "AAAA",
    }, t);
    assert.match(early.body.error_description, /not finished yet/);
    const done = await rest(portal, "telephony.externalCall.finish", {
      CALL_ID: a.CALL_ID,
      USER_ID: 2,
      DURATION: 42,
    }, t);
    assert.equal(done.body.result.CALL_DURATION, 42);
    assert.equal(done.body.result.CALL_FAILED_CODE, "200");
    assert.equal(done.body.result.CALL_STATUS, 1);
    const again = await rest(portal, "telephony.externalCall.finish", {
      CALL_ID: a.CALL_ID,
      USER_ID: 2,
    }, t);
    assert.equal(
      again.body.error_description,
      "Call is not found (call should be registered prior to finishing)",
    );
    const rec = await rest(portal, "telephony.externalCall.attachRecord", {
      CALL_ID: a.CALL_ID,
      FILENAME: "a.mp3",
      FILE_CONTENT: "AAAA",
    }, t);
    assert.ok(rec.body.result.FILE_ID > 0);
    assert.equal(portal.state.calls.get(a.CALL_ID)?.finished?.duration, 42);

    const missed = await rest(portal, "telephony.externalCall.finish", {
      CALL_ID: c.CALL_ID,
      USER_ID: 2,
    }, t);
    assert.equal(missed.body.result.CALL_FAILED_CODE, "304");
    const search = await rest(portal, "telephony.externalCall.searchCrmEntities", {
      PHONE_NUMBER: "84951234567",
    }, t);
    assert.equal(search.body.result[0].CRM_ENTITY_TYPE, "COMPANY");
    assert.equal(search.body.result[0].ASSIGNED_BY.USER_PHONE_INNER, "102");
    assert.equal(portal.records.calls("telephony.externalCall.register").length, 6);
  });
});

Deno.test("portal emulator - the official SDK refreshes against it and retries", async () => {
  await withPortal({}, async (portal, admin) => {
    portal.expireAllTokens();
    const saved: string[] = [];
    const b24 = new B24OAuth(
      {
        applicationToken: portal.app.applicationToken,
        userId: admin.userId,
        memberId: admin.memberId,
        accessToken: admin.accessToken,
        refreshToken: admin.refreshToken,
        expires: admin.expires + 3600,
        expiresIn: admin.expiresIn,
        scope: admin.scope,
        domain: admin.domain,
        clientEndpoint: admin.clientEndpoint,
        serverEndpoint: admin.serverEndpoint,
        status: "L",
      } as ConstructorParameters<typeof B24OAuth>[0],
      {
        clientId: portal.app.clientId,
        clientSecret: portal.app.clientSecret,
      },
    );
    b24.setCallbackRefreshAuth(({ b24OAuthParams }) => {
      saved.push(b24OAuthParams.refreshToken);
      return Promise.resolve();
    });
    const res = await b24.actions.v2.call.make({ method: "app.info" });
    assert.ok(res.isSuccess);
    assert.equal(saved.length, 1);
    assert.notEqual(saved[0], admin.refreshToken);
    assert.deepEqual(portal.records.calls("app.info").map((c) => c.status), [401, 200]);
  });
});

Deno.test("portal emulator - a moved portal redirects from its old address; refreshes carry the new one", async () => {
  const portal = await startPortal({ serverEndpoint: "https://oauth.bitrix24.tech/rest/" });
  try {
    const old = portal.clientEndpoint;
    const t = portal.issueTokens();
    assert.equal(t.serverEndpoint, "https://oauth.bitrix24.tech/rest/");
    const moved = portal.movePortal();
    assert.notEqual(moved.clientEndpoint, old);
    assert.equal(portal.clientEndpoint, moved.clientEndpoint);
    const res = await fetch(`${old}user.current?x=1`, {
      method: "POST",
      body: JSON.stringify({ auth: t.accessToken }),
      redirect: "manual",
    });
    await res.body?.cancel();
    assert.equal(res.status, 301);
    assert.equal(res.headers.get("location"), `${moved.clientEndpoint}user.current?x=1`);
    const there = await rest(portal, "user.current", {}, t.accessToken);
    assert.equal(there.status, 200);
    const refreshed = await (await fetch(portal.tokenUrl, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: portal.app.clientId,
        client_secret: portal.app.clientSecret,
        refresh_token: t.refreshToken,
      }),
    })).json();
    assert.equal(refreshed.client_endpoint, moved.clientEndpoint);
    assert.equal(refreshed.server_endpoint, "https://oauth.bitrix24.tech/rest/");
    // A second move: both older addresses redirect to the newest.
    const again = portal.movePortal({ status: 302 });
    const fromFirst = await fetch(`${old}app.info`, { redirect: "manual" });
    await fromFirst.body?.cancel();
    assert.equal(fromFirst.status, 302);
    assert.equal(fromFirst.headers.get("location"), `${again.clientEndpoint}app.info`);
  } finally {
    await portal.close();
  }
});

Deno.test("portal emulator - PAYMENT_REQUIRED (402) and invalid_client states", async () => {
  await withPortal({}, async (portal, admin) => {
    portal.setPaymentExpired(true);
    const unpaid = await rest(portal, "telephony.externalLine.get", {}, admin.accessToken);
    assert.equal(unpaid.status, 402);
    assert.equal(unpaid.body.error, "PAYMENT_REQUIRED");
    const info = await rest(portal, "app.info", {}, admin.accessToken);
    assert.equal(info.body.result.PAYMENT_EXPIRED, "Y");
    portal.setPaymentExpired(false);
    assert.equal(
      (await rest(portal, "telephony.externalLine.get", {}, admin.accessToken)).status,
      200,
    );
    portal.setInvalidClient(true);
    const refused = await fetch(portal.tokenUrl, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: portal.app.clientId,
        client_secret: portal.app.clientSecret,
        refresh_token: admin.refreshToken,
      }),
    });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, "invalid_client");
  });
});

Deno.test("portal emulator - an app update removes handlers and placements, then ONAPPUPDATE", async () => {
  const app = startReceiver();
  try {
    await withPortal({}, async (portal, admin) => {
      for (const event of ["ONAPPUPDATE", "ONEXTERNALCALLSTART"]) {
        await rest(
          portal,
          "event.bind",
          { event, handler: `${app.url}/events` },
          admin.accessToken,
        );
      }
      await rest(
        portal,
        "placement.bind",
        { PLACEMENT: "LEFT_MENU", HANDLER: `${app.url}/`, TITLE: "x" },
        admin.accessToken,
      );
      assert.equal(portal.state.placements.length, 1);
      const version = portal.state.app.version;
      const sent = await portal.updateApp();
      assert.deepEqual(sent.map((e) => [e.event, e.status]), [["ONAPPUPDATE", 200]]);
      const update = app.got[0].form;
      assert.equal(update.get("event"), "ONAPPUPDATE");
      assert.equal(update.get("data[VERSION]"), String(version + 1));
      assert.equal(update.get("data[PREVIOUS_VERSION]"), String(version));
      assert.equal(update.get("auth[application_token]"), portal.app.applicationToken);
      assert.ok(update.get("auth[refresh_token]"));
      assert.equal(portal.state.eventHandlers.length, 0);
      assert.equal(portal.state.placements.length, 0);
      assert.deepEqual(await portal.fireEvent("ONEXTERNALCALLSTART", {}), []);
      // The tokens still work: the app binds again with them.
      const info = await rest(portal, "app.info", {}, update.get("auth[access_token]")!);
      assert.equal(info.body.result.VERSION, version + 1);
    });
  } finally {
    await app.close();
  }
});
