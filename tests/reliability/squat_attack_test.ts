/**
 * Squatting a portal (issue 19, points 1 and 2), tried as an outsider would over HTTP:
 *
 * - an installer POST naming a loopback, IP or private DOMAIN outside development is refused
 *   before anything is contacted (a listening socket counts connections): no blind SSRF;
 * - a fake "attacker portal" (a second emulator under the real portal's `member_id`) never gets
 *   a request, so never a token: before the real install (the OAuth server does not confirm it)
 *   and after it (the stored address is used);
 * - an employee's genuine refresh token cannot claim another `member_id` or another address;
 * - first-install checks beyond the cap are refused at once (503) while others hang;
 * - another local app's token on the same portal is refused for frames and for ONAPPINSTALL;
 * - the answers for an installed and an unknown `member_id` are identical (install, frames,
 *   events).
 */
import { assert, assertEquals } from "../support/assert.ts";
import { startBitrixHarness } from "../support/bitrix.ts";
import { startTestApp } from "../support/app.ts";
import { startPortal } from "../../dev/portal/mod.ts";
import { readJson } from "../support/http.ts";

const ADMIN = 1;
const ANNA = 2;
const options = { sanitizeResources: false, sanitizeOps: false };

/** A TCP listener that counts the connections it gets and can drop them all. */
function connectionRecorder() {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) conns.push(conn);
  })().catch(() => {});
  return {
    port: listener.addr.port,
    get connections() {
      return conns.length;
    },
    dropAll() {
      for (const conn of conns.splice(0)) {
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    },
    /** Drops every connection and stops listening (later connections are refused). */
    close() {
      this.dropAll();
      try {
        listener.close();
      } catch { /* already closed */ }
    },
  };
}

/** An installer POST as a page would send it; the answer's status and body text. */
async function postInstaller(appUrl: string, fields: Record<string, string>) {
  const res = await fetch(`${appUrl}/install`, {
    method: "POST",
    body: new URLSearchParams({
      AUTH_ID: "a".repeat(32),
      REFRESH_ID: "b".repeat(32),
      member_id: "c".repeat(32),
      PROTOCOL: "1",
      ...fields,
    }),
  });
  return { status: res.status, body: await res.text() };
}

const MARKET_APP = {
  type: "market" as const,
  code: "example.sipphone",
  clientId: "app.1",
  clientSecret: "s1",
};
const MARKET_ENV = {
  BITRIX_APP_CODE: MARKET_APP.code,
  BITRIX_CLIENT_ID: MARKET_APP.clientId,
  BITRIX_CLIENT_SECRET: MARKET_APP.clientSecret,
};

Deno.test({
  name:
    "[squat] outside development a loopback, IP or private DOMAIN is refused and never contacted",
  ...options,
  async fn() {
    const target = connectionRecorder();
    const oauth = connectionRecorder();
    try {
      // A local app (no credentials): a public host off BITRIX_PORTAL_HOSTS is refused too. A
      // Market app asks the OAuth server about a public host, so only the others apply there.
      const cases: [Record<string, string>, string[]][] = [
        [{}, ["attacker.example"]],
        [{ ...MARKET_ENV, BITRIX_OAUTH_URL: `http://127.0.0.1:${oauth.port}/` }, []],
      ];
      for (const [env, offList] of cases) {
        await using app = await startTestApp({ BITRIX_ALLOW_INSECURE_PORTALS: "false", ...env });
        const answers = new Set<string>();
        for (
          const domain of [
            `127.0.0.1:${target.port}`,
            `127.1.2.3:${target.port}`,
            `localhost:${target.port}`,
            `2130706433:${target.port}`,
            `0x7f.1:${target.port}`,
            "10.0.0.1",
            `192.168.10.20:${target.port}`,
            "portal.internal",
            ...offList,
          ]
        ) {
          for (const PROTOCOL of ["0", "1"]) {
            const { status, body } = await postInstaller(app.url, { DOMAIN: domain, PROTOCOL });
            answers.add(`${status} ${body}`);
          }
        }
        // One answer for all, and nobody was called (neither the target nor the OAuth server).
        assertEquals(answers.size, 1, [...answers].join("\n"));
        assert([...answers][0].startsWith("401 "));
        assertEquals([target.connections, oauth.connections], [0, 0]);
        assertEquals(await app.services.portals.findByMemberId("c".repeat(32)), undefined);
      }
    } finally {
      target.close();
      oauth.close();
    }
  },
});

Deno.test({
  name: "[squat] a fake portal under a real member_id is never contacted, before or after install",
  ...options,
  async fn() {
    await using h = await startBitrixHarness({ portal: { app: MARKET_APP }, env: MARKET_ENV });
    const squatter = await startPortal({ memberId: h.portal.memberId, app: MARKET_APP });
    try {
      const squat = async () => {
        const { page } = await squatter.installApp({ handlerUrl: `${h.app.url}/install` });
        const res = await page!.post();
        return { status: res.status, body: await res.text() };
      };
      const before = await squat();
      assertEquals(before.status, 401);
      assertEquals(await h.app.services.portals.findByMemberId(h.portal.memberId), undefined);

      // The real portal installs at its own address; its people use the app.
      assertEquals((await h.install()).status, 200);
      assertEquals((await h.widget(ANNA, { event: "GETME" })).status, 200);
      const after = await squat();
      assertEquals(after, before);
      const stored = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
      assertEquals(stored.clientEndpoint, h.portal.clientEndpoint);
      // The squatter never saw a request: no installer's, employee's or event's token.
      assertEquals(squatter.records.calls().length, 0);
      assertEquals(squatter.records.oauth().length, 0);
    } finally {
      await squatter.close();
    }
  },
});

Deno.test({
  name:
    "[squat] an employee's genuine refresh token claims no other member_id and no other address",
  ...options,
  async fn() {
    await using h = await startBitrixHarness({
      portal: { app: MARKET_APP, installed: false },
      env: MARKET_ENV,
    });
    const attacker = connectionRecorder();
    try {
      const claim = (fields: Record<string, string>) => {
        const load = h.portal.pageLoad({ handlerUrl: `${h.app.url}/install`, userId: ANNA });
        return postInstaller(h.app.url, { ...load.fields, DOMAIN: h.portal.domain, ...fields });
      };
      // Another portal's member_id with this portal's token: the OAuth server names this one.
      const otherMember = await claim({ member_id: "d".repeat(32), PROTOCOL: "0" });
      // This portal's member_id, the attacker's address: the OAuth server names the real one.
      const otherAddress = await claim({ DOMAIN: `127.0.0.1:${attacker.port}`, PROTOCOL: "0" });
      assertEquals(otherMember.status, 401);
      assertEquals(otherAddress, otherMember);
      assertEquals(attacker.connections, 0);
      assertEquals(await h.app.services.portals.findByMemberId("d".repeat(32)), undefined);
      assertEquals(await h.app.services.portals.findByMemberId(h.portal.memberId), undefined);
      // And the real administrator's install works.
      assertEquals((await h.install()).status, 200);
    } finally {
      attacker.close();
    }
  },
});

Deno.test({
  name: "[squat] first-install checks beyond the cap are refused at once, not queued",
  ...options,
  async fn() {
    await using app = await startTestApp();
    const silent = connectionRecorder();
    try {
      const hanging = Array.from({ length: 4 }, (_, i) =>
        postInstaller(app.url, {
          member_id: `${i}`.repeat(32),
          DOMAIN: `127.0.0.1:${silent.port}`,
          PROTOCOL: "0",
        }));
      while (silent.connections < 4) await new Promise((r) => setTimeout(r, 10));
      const over = await readJson(
        fetch(`${app.url}/install`, {
          method: "POST",
          body: new URLSearchParams({
            AUTH_ID: "a".repeat(32),
            REFRESH_ID: "b".repeat(32),
            member_id: "9".repeat(32),
            DOMAIN: `127.0.0.1:${silent.port}`,
            PROTOCOL: "0",
          }),
        }),
      );
      assertEquals(over.status, 503);
      assertEquals(over.body.error.code, "unavailable");
      assertEquals(silent.connections, 4);
      silent.close();
      for (const answer of await Promise.all(hanging)) assertEquals(answer.status, 502);
    } finally {
      silent.close();
    }
  },
});

Deno.test({
  name: "[squat] another local app's tokens on the same portal are not ours (frames, ONAPPINSTALL)",
  ...options,
  async fn() {
    await using h = await startBitrixHarness();
    const other = "local.0123456789abcd.12345678";
    // The install records our app's code from the administrator's verified app.info.
    const { page } = await h.portal.installApp({ handlerUrl: `${h.app.url}/install` });
    assertEquals((await page!.post()).status, 200);
    const stored = (await h.app.services.portals.findByMemberId(h.portal.memberId))!;
    assertEquals(stored.appCode, h.portal.app.code);

    // An ONAPPINSTALL carrying another app's administrator token is refused; nothing stored.
    const foreign = h.portal.issueTokens({ userId: ADMIN, otherApp: other });
    const forged = await fetch(`${h.app.url}/api/bitrix/install`, {
      method: "POST",
      body: new URLSearchParams({
        event: "ONAPPINSTALL",
        "auth[member_id]": h.portal.memberId,
        "auth[application_token]": "f".repeat(32),
        "auth[access_token]": foreign.accessToken,
        "auth[domain]": h.portal.domain,
      }),
    });
    await forged.body?.cancel();
    assertEquals(forged.status, 401);
    assertEquals(await h.app.services.portals.hasApplicationToken(stored.id), false);
    await h.portal.finishInstall();
    assertEquals(await h.app.services.portals.hasApplicationToken(stored.id), true);

    // A frame with another local app's token of a real employee: 401, as for garbage.
    const frame = (token: string, memberId = h.portal.memberId) =>
      fetch(`${h.app.url}/api/bitrix/widget`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "x-member-id": memberId,
          "content-type": "application/json",
        },
        body: JSON.stringify({ event: "GETME" }),
      }).then(async (r) => ({ status: r.status, body: await r.text() }));
    const otherApps = await frame(
      h.portal.issueTokens({ userId: ANNA, otherApp: other }).accessToken,
    );
    assertEquals(otherApps.status, 401);
    assertEquals(await frame("x".repeat(32)), otherApps);
    assertEquals((await frame(h.portal.issueTokens({ userId: ANNA }).accessToken)).status, 200);
  },
});

Deno.test({
  name: "[squat] answers for an installed and an unknown member_id are identical",
  ...options,
  async fn() {
    await using h = await startBitrixHarness();
    assertEquals((await h.install()).status, 200);
    const unknown = "e".repeat(32);
    for (const memberId of [h.portal.memberId, unknown]) {
      assertEquals(
        await h.app.services.portals.findByMemberId(memberId) !== undefined,
        memberId !== unknown,
      );
    }
    const both = async <T>(ask: (memberId: string) => Promise<T>) => {
      const [known, other] = [await ask(h.portal.memberId), await ask(unknown)];
      assertEquals(known, other);
      return known;
    };
    const text = (res: Response) => res.text().then((body) => ({ status: res.status, body }));
    // The installer with a token the portal does not know, DOMAIN of the real portal.
    const install = await both((member_id) =>
      postInstaller(h.app.url, { member_id, DOMAIN: h.portal.domain, PROTOCOL: "0" })
    );
    assertEquals(install.status, 401);
    // A frame with a forged token.
    const frame = await both((memberId) =>
      fetch(`${h.app.url}/api/bitrix/widget`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${"x".repeat(32)}`,
          "x-member-id": memberId,
          "content-type": "application/json",
        },
        body: JSON.stringify({ event: "GETME" }),
      }).then(text)
    );
    assertEquals(frame.status, 401);
    // Events with a forged application token.
    for (const path of ["/api/bitrix/install", "/api/bitrix/callback"]) {
      const event = await both((memberId) =>
        fetch(`${h.app.url}${path}`, {
          method: "POST",
          body: new URLSearchParams({
            event: path.endsWith("install") ? "ONAPPINSTALL" : "ONAPPUNINSTALL",
            "auth[member_id]": memberId,
            "auth[application_token]": "f".repeat(32),
          }),
        }).then(text)
      );
      assertEquals(event.status, 401);
    }
  },
});
