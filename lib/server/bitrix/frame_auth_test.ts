import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
} from "../../../tests/support/assert.ts";
import type { Portal } from "../db/portals.ts";
import { UnauthorizedError, UpstreamError } from "../errors.ts";
import { PortalChanges } from "../portal_changes.ts";
import { FrameAuthenticator, type WhoIsAnswer } from "./frame_auth.ts";
import { BitrixApiError } from "./rest.ts";

const MINUTE = 60_000;
const RECHECK = 5 * MINUTE;
const CODE = "local.frameauth.1";

/**
 * A portal as the fake `whoIs` answers for it: users (admin flag, activity), tokens (whose,
 * expired or not), and whether it can be reached; every call is counted.
 */
class FakePortal {
  readonly users = new Map<number, { admin: boolean; active: boolean }>([
    [1, { admin: true, active: true }],
    [2, { admin: false, active: true }],
  ]);
  readonly tokens = new Map<string, { userId: number; expired: boolean }>();
  reachable = true;
  /** Answer a deactivated user's token with `ACTIVE: false` instead of refusing it. */
  answersInactive = false;
  calls: string[] = [];

  issue(token: string, userId: number): string {
    this.tokens.set(token, { userId, expired: false });
    return token;
  }

  /** The real portal's answers (CORE `rest/lib/oauth/auth.php`). */
  whoIs = (_endpoint: unknown, token: string): Promise<WhoIsAnswer> => {
    this.calls.push(token);
    if (!this.reachable) return Promise.reject(new BitrixApiError("NETWORK_ERROR", 0, "down"));
    const grant = this.tokens.get(token);
    if (!grant) return Promise.reject(new BitrixApiError("invalid_token", 401, ""));
    if (grant.expired) return Promise.reject(new BitrixApiError("expired_token", 401, ""));
    const user = this.users.get(grant.userId)!;
    if (!user.active && !this.answersInactive) {
      return Promise.reject(new BitrixApiError("authorization_error", 401, ""));
    }
    return Promise.resolve({
      app: { CODE, INSTALLED: true },
      userId: grant.userId,
      isAdmin: user.admin,
      active: user.active,
    });
  };
}

const PORTAL = {
  id: "p-1",
  memberId: "m-1",
  domain: "acme.bitrix24.ru",
  clientEndpoint: "https://acme.bitrix24.ru/rest/",
  installed: true,
  appKind: "local",
  clientId: CODE,
} as Portal;

function setup(options: { recheckMs?: number } = {}) {
  const clock = { at: 1_000_000 };
  const portal = new FakePortal();
  const changes = new PortalChanges();
  const auth = new FrameAuthenticator({
    config: { BITRIX_APP_CODE: undefined },
    secrets: { appSecrets: () => Promise.resolve({}) },
    portals: {
      findByMemberId: (id) => Promise.resolve(id === PORTAL.memberId ? PORTAL : undefined),
    },
    changes,
    whoIs: (endpoint, token) => portal.whoIs(endpoint, token),
  }, { recheckMs: options.recheckMs ?? RECHECK, now: () => clock.at });
  const verify = (token: string, expiresInSec?: number) =>
    auth.verify(PORTAL.memberId, token, expiresInSec, "192.0.2.1");
  const later = (ms: number) => void (clock.at += ms);
  return { auth, portal, changes, verify, later };
}

/** Why `verify` refused: the 401's cause (its message is the same for every refusal). */
async function refusal(fn: () => Promise<unknown>): Promise<string> {
  return String((await assertRejects(fn, UnauthorizedError)).cause);
}

Deno.test("[frame auth] a token is trusted for its remaining life, an hour at most", async () => {
  const { portal, verify, later } = setup({ recheckMs: 2 * 3600_000 });
  const short = portal.issue("short", 2);
  assertEquals((await verify(short, 60)).userId, 2);
  later(59_000);
  await verify(short, 60);
  assertEquals(portal.calls.length, 1, "within its life the cache answers");
  portal.tokens.get(short)!.expired = true;
  later(2_000);
  await assertRejects(() => verify(short, 60), UnauthorizedError);
  assertEquals(portal.calls.length, 2, "past its life the portal is asked again");

  // Without AUTH_EXPIRES (or with more than an hour) a token is trusted an hour at most.
  const long = portal.issue("long", 2);
  await verify(long, 86_400);
  later(3600_000 - 1);
  await verify(long);
  assertEquals(portal.calls.length, 3);
  later(1);
  await verify(long);
  assertEquals(portal.calls.length, 4);
});

Deno.test("[frame auth] a demoted admin is an employee after the re-check interval, asked once", async () => {
  const { portal, verify, later } = setup();
  const [a, b] = [portal.issue("admin-a", 1), portal.issue("admin-b", 1)];
  assertEquals((await verify(a)).isAdmin, true);
  assertEquals((await verify(b)).isAdmin, true);
  assertEquals(portal.calls.length, 2);
  portal.users.get(1)!.admin = false;
  later(RECHECK - 1);
  assertEquals((await verify(a)).isAdmin, true, "trusted within the interval");
  assertEquals(portal.calls.length, 2, "without asking the portal");
  later(1);
  // Concurrent requests with both of the user's tokens: one re-check for all of them.
  const answers = await Promise.all([a, b, a, b, a].map((token) => verify(token)));
  assertEquals(answers.map((u) => u.isAdmin), [false, false, false, false, false]);
  assertEquals(portal.calls.length, 3);
  later(RECHECK - 1);
  await verify(b);
  assertEquals(portal.calls.length, 3, "one re-check per user per interval");
});

Deno.test("[frame auth] a deactivated user loses every token at the re-check", async () => {
  const { portal, verify, later } = setup();
  const [a, b] = [portal.issue("anna-a", 2), portal.issue("anna-b", 2)];
  const other = portal.issue("admin", 1);
  await verify(a);
  await verify(b);
  await verify(other);
  portal.users.get(2)!.active = false;
  later(RECHECK);
  assertStringIncludes(await refusal(() => verify(a)), "deactivated");
  assertStringIncludes(await refusal(() => verify(b)), "deactivated");
  assertEquals(portal.calls.length, 4, "her other token is refused without asking again");
  assertEquals((await verify(other)).userId, 1, "another user keeps access");
});

Deno.test("[frame auth] `ACTIVE: false` in user.current's answer is a deactivated user", async () => {
  const { portal, verify, later } = setup();
  portal.answersInactive = true;
  const token = portal.issue("anna", 2);
  await verify(token);
  portal.users.get(2)!.active = false;
  await assertRejects(() => verify(portal.issue("anna-new", 2)), UnauthorizedError);
  later(RECHECK);
  assertStringIncludes(await refusal(() => verify(token)), "deactivated");
});

Deno.test("[frame auth] an expired token at the re-check does not cost the user's others", async () => {
  const { portal, verify, later } = setup();
  const [old, fresh] = [portal.issue("old", 2), portal.issue("fresh", 2)];
  await verify(old);
  await verify(fresh);
  portal.tokens.get(old)!.expired = true;
  later(RECHECK);
  assertStringIncludes(await refusal(() => verify(old)), "did not accept");
  assertEquals((await verify(fresh)).userId, 2);
  assertEquals(portal.calls.length, 4, "the fresh token re-checked the user itself");
  await assertRejects(() => verify(old), UnauthorizedError);
  assertEquals(portal.calls.length, 4, "the refusal is remembered");
});

Deno.test("[frame auth] an unreachable portal: the last answer holds one more interval, then 502", async () => {
  const { portal, verify, later } = setup();
  const token = portal.issue("anna", 2);
  await verify(token);
  portal.reachable = false;
  later(RECHECK);
  assertEquals((await verify(token)).userId, 2, "the last answer holds");
  assertEquals(portal.calls.length, 2);
  later(10_000);
  await verify(token);
  assertEquals(portal.calls.length, 2, "not asked again before the pause is over");
  later(30_000);
  await verify(token);
  assertEquals(portal.calls.length, 3, "asked again after the pause");
  later(RECHECK);
  await assertRejects(() => verify(token), UpstreamError);
  portal.reachable = true;
  later(30_000);
  assertEquals((await verify(token)).userId, 2, "back once the portal answers");
});

Deno.test("[frame auth] an uninstall forgets the portal's tokens and users", async () => {
  const { portal, changes, verify } = setup();
  const token = portal.issue("anna", 2);
  await verify(token);
  changes.changed(PORTAL, { uninstalled: true });
  await verify(token);
  assertEquals(portal.calls.length, 2);
});
