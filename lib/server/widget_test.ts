import { assert, assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { type Access, handleWidget, widgetActions } from "./widget.ts";
import { BadRequestError, ForbiddenError } from "./errors.ts";
import type { WidgetDeps } from "./widget.ts";
import type { FrameUser } from "./bitrix/frame_auth.ts";
import {
  type ParsedWidgetRequest,
  type WidgetEvent,
  type WidgetRequest,
  widgetRequestSchema,
} from "../shared/api/widget.ts";

const ADMIN = 1;
const ANNA = 2;
const JOHN = 3;

const ACCOUNT = {
  id: "acc-1",
  bitrixUserId: ANNA,
  wsUrl: "wss://pbx.example.com/ws",
  sipUri: "sip:1002@pbx.example.com",
  authUser: "1002",
  displayName: null,
  hasPassword: true,
  updatedAt: new Date(0),
};

/** Services whose every method records its name and answers something plausible. */
function fakeServices() {
  const touched: string[] = [];
  const fake = (name: string, answer: unknown) => (..._args: unknown[]) => {
    touched.push(name);
    return Promise.resolve(answer);
  };
  const client = {
    callPage: fake("bitrix.user.get", { result: [{ ID: String(JOHN), NAME: "John" }] }),
    call: fake("bitrix.call", {}),
  };
  const services = {
    config: { TURN_CREDENTIAL_TTL_SECONDS: 86400 },
    sipAccounts: {
      getWithPassword: fake("sipAccounts.getWithPassword", { ...ACCOUNT, password: "secret" }),
      get: fake("sipAccounts.get", ACCOUNT),
      upsert: fake("sipAccounts.upsert", ACCOUNT),
      remove: fake("sipAccounts.remove", true),
      listForUsers: fake("sipAccounts.listForUsers", [ACCOUNT]),
    },
    portals: {
      saveLocalCredentials: fake("portals.saveLocalCredentials", undefined),
      updateSettings: fake("portals.updateSettings", undefined),
      listEvents: fake("portals.listEvents", []),
    },
    bitrix: {
      clients: { forPortal: fake("clients.forPortal", client) },
      callers: { lookup: fake("callers.lookup", null) },
    },
    changes: { changed: (..._args: unknown[]) => void touched.push("changes.changed") },
  };
  return { services: services as unknown as WidgetDeps, touched };
}

function frameUser(userId: number, opts: { usersEditOwnAccount?: boolean } = {}): FrameUser {
  const settings = {
    crmCreate: true,
    showCard: true,
    usersEditOwnAccount: opts.usersEditOwnAccount ?? false,
    iceServers: [],
  };
  const portal = {
    id: "portal-1",
    memberId: "member-1",
    domain: "example.bitrix24.ru",
    appKind: "local",
    clientId: "local.1",
    tokenExpiresAt: new Date(0),
    externalLine: null,
    settings,
  } as unknown as FrameUser["portal"];
  return { portal, userId, isAdmin: userId === ADMIN };
}

/** One valid request of every action, naming `target` where the action names a user. */
function requestOf(event: WidgetEvent, target: number): ParsedWidgetRequest {
  const bodies: { [E in WidgetEvent]: WidgetRequest<E> } = {
    GETME: { event: "GETME" },
    UPDATECREED: { event: "UPDATECREED", clientId: "local.1", secretId: "s" },
    GETUSERDATA: { event: "GETUSERDATA", userId: target },
    SAVEUSERDATA: { event: "SAVEUSERDATA", userId: target, url: ACCOUNT.wsUrl, user: "1002" },
    DELETEUSERDATA: { event: "DELETEUSERDATA", userId: target },
    GETUSERSDATA: { event: "GETUSERSDATA", usersId: [target] },
    GETPORTALUSERS: { event: "GETPORTALUSERS" },
    SAVESETTINGS: { event: "SAVESETTINGS", settings: {} },
    GETPLACEMENTERRORS: { event: "GETPLACEMENTERRORS" },
    GETTRANSFERTARGET: { event: "GETTRANSFERTARGET", userId: target },
    GETCALLER: { event: "GETCALLER", number: "+74951234567" },
  };
  return widgetRequestSchema(false).parse(bodies[event]);
}

const EVENTS = Object.keys(widgetActions) as WidgetEvent[];

/** Runs `event` for `user` on `target`; says whether it ran and what the fakes saw. */
async function attempt(user: FrameUser, event: WidgetEvent, target: number) {
  const { services, touched } = fakeServices();
  try {
    await handleWidget(services, user, requestOf(event, target));
    return { ran: true, touched };
  } catch (err) {
    if (!(err instanceof ForbiddenError)) throw err;
    return { ran: false, touched };
  }
}

Deno.test("[widget] each action's access rule", () => {
  const expected: Record<WidgetEvent, Access> = {
    GETME: "employee",
    UPDATECREED: "admin",
    GETUSERDATA: "owner",
    SAVEUSERDATA: "owner-when-allowed",
    DELETEUSERDATA: "admin",
    GETUSERSDATA: "admin",
    GETPORTALUSERS: "admin",
    SAVESETTINGS: "admin",
    GETPLACEMENTERRORS: "admin",
    GETTRANSFERTARGET: "employee",
    GETCALLER: "employee",
  };
  assertEquals(Object.fromEntries(EVENTS.map((e) => [e, widgetActions[e].access])), expected);
});

Deno.test("[widget] an administrator runs every action, on anyone", async () => {
  for (const event of EVENTS) {
    for (const target of [ADMIN, ANNA]) {
      assert((await attempt(frameUser(ADMIN), event, target)).ran, `${event} on ${target}`);
    }
  }
});

Deno.test("[widget] an employee cannot call admin actions, and they touch nothing", async () => {
  for (const event of EVENTS.filter((e) => widgetActions[e].access === "admin")) {
    for (const target of [ANNA, JOHN]) {
      assertEquals(await attempt(frameUser(ANNA), event, target), { ran: false, touched: [] });
    }
  }
});

Deno.test("[widget] an employee cannot reach another user's account", async () => {
  for (const usersEditOwnAccount of [false, true]) {
    const anna = frameUser(ANNA, { usersEditOwnAccount });
    for (
      const event of ["GETUSERDATA", "SAVEUSERDATA", "DELETEUSERDATA", "GETUSERSDATA"] as const
    ) {
      assertEquals(await attempt(anna, event, JOHN), { ran: false, touched: [] }, event);
    }
  }
});

Deno.test("[widget] the password goes only to its owner", async () => {
  const own = await attempt(frameUser(ANNA), "GETUSERDATA", ANNA);
  assertEquals(own, { ran: true, touched: ["sipAccounts.getWithPassword"] });
  const adminReads = await attempt(frameUser(ADMIN), "GETUSERDATA", ANNA);
  assertEquals(adminReads, { ran: true, touched: ["sipAccounts.get"] });
});

Deno.test("[widget] an employee edits their own account only when the portal allows it", async () => {
  assertEquals(await attempt(frameUser(ANNA), "SAVEUSERDATA", ANNA), { ran: false, touched: [] });
  assertEquals(
    await attempt(frameUser(ANNA, { usersEditOwnAccount: true }), "SAVEUSERDATA", ANNA),
    { ran: true, touched: ["sipAccounts.upsert"] },
  );
});

Deno.test("[widget] any employee reads who they are and a colleague's address only", async () => {
  assert((await attempt(frameUser(ANNA), "GETME", ANNA)).ran);
  const { services } = fakeServices();
  const answer = await handleWidget(
    services,
    frameUser(JOHN),
    requestOf("GETTRANSFERTARGET", ANNA) as ParsedWidgetRequest<"GETTRANSFERTARGET">,
  );
  assertEquals(answer, { sipUri: ACCOUNT.sipUri });
});

Deno.test("[widget] a refusal says why, in the forbidden error", async () => {
  const { services } = fakeServices();
  await assertRejects(
    () => handleWidget(services, frameUser(ANNA), requestOf("GETUSERSDATA", JOHN)),
    ForbiddenError,
    "administrator",
  );
});

Deno.test("[widget] GETME hands the operator's TURN server with the user's short-lived credentials", async () => {
  const { services } = fakeServices();
  const withTurn = {
    ...services,
    config: {
      TURN_URLS: ["turn:turn.example.com:3478"],
      TURN_SHARED_SECRET: "0123456789abcdef",
      TURN_CREDENTIAL_TTL_SECONDS: 3600,
    },
  };
  const me = await handleWidget<"GETME">(withTurn, frameUser(ANNA), { event: "GETME" });
  const [turn] = me.portal.iceServers;
  assertEquals(turn.urls, ["turn:turn.example.com:3478"]);
  assert(/^\d{10}:member-1\.\d+$/.test(turn.username ?? ""), turn.username);
  assert(turn.credential && turn.credential !== "0123456789abcdef", "a credential, not the secret");
  const without = await handleWidget<"GETME">(services, frameUser(ANNA), { event: "GETME" });
  assertEquals(without.portal.iceServers, []);
});

Deno.test("[widget] a local app's credentials must be the installed app's, else nothing is saved", async () => {
  const admin = frameUser(ADMIN);
  Object.assign(admin.portal, { appCode: "local.1" });
  const { services, touched } = fakeServices();
  const other = { event: "UPDATECREED", clientId: "local.2", secretId: "s" } as const;
  const err = await assertRejects(() => handleWidget(services, admin, other), BadRequestError);
  assertEquals((err as BadRequestError).details, [
    { path: "clientId", message: "expected the installed app's code, local.1" },
  ]);
  assertEquals(touched, []);
  await handleWidget(services, admin, { ...other, clientId: "local.1" });
  assertEquals(touched, ["portals.saveLocalCredentials", "changes.changed"]);
});
