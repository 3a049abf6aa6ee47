/**
 * The portal pages: a Bitrix24-like page per user that embeds the app's frames the way the
 * portal does (a hidden form POSTed into a named cross-site iframe, reference §1.2), answers the
 * frames' postMessage protocol, shows the call card, and offers CRM click-to-call.
 *
 * Routes:
 * - `GET /` → the first administrator's page.
 * - `GET /page/:userId` — query: `placement=DEFAULT` (the app's main page), `placement=LEFT_MENU`
 *   [`&id=<placement row>`], `view=apps` (install, reinstall, delete), `lang=ru|en`,
 *   `workers=0` (no PAGE_BACKGROUND_WORKER frames); none of these → CRM contacts. While an
 *   installation is unfinished an administrator gets the installer frame instead.
 * - `POST /page/:userId/install` (form `handlerUrl`), `POST /page/:userId/uninstall`.
 * - `/_portal/session/:sid/*` — the page script's calls (JSON): `log`, `refresh-auth`,
 *   `install-finish`, `set-install`, `option`, `frame-load`, `frame`, `click-to-call`,
 *   `card-closed`, and `GET stream` (server-sent `calls` events: the cards to show).
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { z } from "zod";
import { clickToCall } from "../click_to_call.ts";
import { phoneDigits } from "../crm.ts";
import { firstAdmin } from "../events.ts";
import { randomHex } from "../ids.ts";
import { finishInstall, installApp, pageLoad, uninstallApp } from "../install.ts";
import type { PortalState } from "../state.ts";
import type { PortalUser } from "../users.ts";
import { callsFor, listCrm } from "./calls.ts";
import type { ClientFrame, TransferUser } from "./client/config.ts";
import { texts } from "./i18n.ts";
import type { FrameRole, FrameSpec, InitData, PageLogEntry, PageSession } from "./registry.ts";
import { pageScript } from "./script.ts";
import { type PageModel, type PageView, renderPage } from "./view.tsx";

/** The 12 states of `CallCardGetListUiStates` (CORE `UiState` minus sipPhoneError, idle, externalCard). */
export const UI_STATES = [
  "incoming",
  "transferIncoming",
  "outgoing",
  "connectingIncoming",
  "connectingOutgoing",
  "connected",
  "transferring",
  "transferFailed",
  "transferConnected",
  "error",
  "moneyError",
  "redial",
] as const;

/** Every CORE `UiState` name (what `CallCardSetUiState` accepts). */
export const ALL_UI_STATES = [
  ...UI_STATES.slice(0, 9),
  "idle",
  "error",
  "moneyError",
  "sipPhoneError",
  "redial",
  "externalCard",
];

/** PAGE_BACKGROUND_WORKER events (CORE base-worker `initializeInterfaceEvents`). */
export const WORKER_EVENTS = [
  "initialized",
  "addCommentButtonClick",
  "muteButtonClick",
  "holdButtonClick",
  "closeButtonClick",
  "transferButtonClick",
  "cancelTransferButtonClick",
  "completeTransferButtonClick",
  "hangupButtonClick",
  "nextButtonClick",
  "skipButtonClick",
  "answerButtonClick",
  "entityChanged",
  "qualityMeterClick",
  "dialpadButtonClick",
  "makeCallButtonClick",
  "notifyAdminButtonClick",
].map((e) => `BackgroundCallCard::${e}`);

const WORKER = "PAGE_BACKGROUND_WORKER";

/** The DEFAULT page of the app: `appUrl`, else the installer URLs. */
function defaultHandler(state: PortalState): string | null {
  const o = state.options;
  return o.appUrl ?? o.installUrl ?? state.pages.lastInstallerUrl;
}

function languageOf(state: PortalState, q: string | undefined): string {
  return q && /^[a-z]{2}$/.test(q) ? q : state.options.language;
}

/**
 * The PAGE_BACKGROUND_WORKER frames of a page whose request URI is `uri` (the general binding and
 * the page user's), with CORE's `PLACEMENT_OPTIONS {ID, URI}`.
 */
export function workerFrames(state: PortalState, session: PageSession, uri: string): FrameSpec[] {
  if (!state.app.installed || state.app.removed) return [];
  return state.placements
    .filter((p) => p.placement === WORKER && (p.userId === 0 || p.userId === session.userId))
    .map((w) =>
      createFrame(state, session, {
        role: "worker",
        handler: w.handler,
        placement: WORKER,
        placementId: w.id,
        placementOptions: { ID: WORKER, URI: uri },
      })
    );
}

/** Creates one app frame of a page: a fresh token pair, APP_SID and the getInitData answer. */
export function createFrame(
  state: PortalState,
  session: PageSession,
  input: {
    role: FrameRole;
    handler: string;
    placement?: string;
    placementId?: number | null;
    placementOptions?: Record<string, unknown>;
    install?: boolean;
  },
): FrameSpec {
  const user = state.users.require(session.userId);
  const placement = input.placement ?? "DEFAULT";
  const load = pageLoad(state, {
    handlerUrl: input.handler,
    userId: user.id,
    placement,
    placementOptions: input.placementOptions,
  });
  const url = new URL(load.url);
  url.searchParams.set("LANG", session.lang);
  const init: InitData = {
    LANG: session.lang,
    DOMAIN: state.endpoints.domain,
    PROTOCOL: state.endpoints.url.startsWith("https:") ? 1 : 0,
    PATH: "/rest",
    AUTH_ID: load.tokens.accessToken,
    AUTH_EXPIRES: String(load.tokens.expiresIn),
    REFRESH_ID: load.tokens.refreshToken,
    MEMBER_ID: state.memberId,
    FIRST_RUN: state.pages.firstRun(user.id, state.app.version),
    IS_ADMIN: user.admin,
    INSTALL: input.install ?? false,
    USER_OPTIONS: { ...state.pages.userOptions(user.id) },
    APP_OPTIONS: { ...state.pages.appOptions },
    PLACEMENT: placement,
    PLACEMENT_OPTIONS: load.fields.PLACEMENT_OPTIONS
      ? JSON.parse(load.fields.PLACEMENT_OPTIONS)
      : {},
  };
  const spec: FrameSpec = {
    appSid: load.appSid,
    role: input.role,
    placement,
    placementId: input.placementId ?? null,
    handler: input.handler,
    url: url.toString(),
    origin: new URL(input.handler).origin,
    frameName: load.frameName,
    fields: load.fields,
    init,
  };
  session.frames.set(spec.appSid, spec);
  return spec;
}

function transferUsers(state: PortalState): TransferUser[] {
  return state.users.list().filter((u) => u.active).map((u) => ({
    id: u.id,
    name: `${u.name} ${u.lastName}`.trim(),
    phones: [u.personalMobile, u.personalPhone, u.workPhone]
      .filter((p) => p !== "")
      .map((number) => ({ label: "", number })),
  }));
}

function appName(state: PortalState, lang: string): string {
  return state.options.app.name ?? texts(lang).appDefaultName;
}

function page(c: Context, state: PortalState, user: PortalUser, script: string): Response {
  const q = c.req.query();
  const lang = languageOf(state, q.lang);
  const t = texts(lang);
  const reg = state.pages;
  const app = state.app;
  const installed = app.installed && !app.removed;
  const url = new URL(c.req.url);
  const session: PageSession = {
    id: randomHex(16),
    userId: user.id,
    lang,
    uri: `${url.pathname}${url.search}`,
    frames: new Map(),
    createdAt: state.clock.now(),
  };
  const frames: ClientFrame[] = [];
  const add = (mount: string, input: Parameters<typeof createFrame>[2]) =>
    frames.push({ ...createFrame(state, session, input), mount });

  const leftMenu = installed
    ? state.placements.filter((p) => p.placement === "LEFT_MENU").map((p) => ({
      id: p.id,
      title: p.langAll[lang]?.TITLE || p.title || appName(state, lang),
    }))
    : [];
  let view: PageView = "crm";
  let title = t.crmTitle;
  let active = "crm";
  let message: string | null = null;
  let frameHost: string | null = null;
  const host = "app-frame-host";

  if (q.view === "apps") {
    view = "apps";
    title = t.appsTitle;
    active = "apps";
  } else if (!installed && user.admin && reg.installerUrl) {
    view = "installer";
    title = t.installTitle;
    active = "apps";
    frameHost = host;
    add(host, { role: "installer", handler: reg.installerUrl, install: true });
  } else if (!installed && (q.placement || q.install_finished)) {
    view = "not-installed";
    title = appName(state, lang);
    message = t.notInstalled;
  } else if (q.placement === "DEFAULT" || (q.install_finished && !q.placement)) {
    view = "app";
    title = appName(state, lang);
    active = "app";
    const handler = defaultHandler(state);
    if (handler) {
      frameHost = host;
      add(host, { role: "main", handler });
    } else {
      message = t.appNoUrl;
    }
  } else if (q.placement) {
    const code = q.placement.toUpperCase();
    const binding = state.placements.find((p) =>
      p.placement === code && (q.id === undefined || String(p.id) === q.id)
    );
    view = "placement";
    title = binding?.title || appName(state, lang);
    active = binding && code === "LEFT_MENU" ? `left-${binding.id}` : "app";
    if (binding) {
      frameHost = host;
      add(host, {
        role: "main",
        handler: binding.handler,
        placement: code,
        placementId: binding.id,
        placementOptions: { URI: session.uri },
      });
    } else {
      message = `${code}: ${t.nothing}`;
    }
  }

  if (installed && q.workers !== "0") {
    for (const spec of workerFrames(state, session, session.uri)) {
      frames.push({ ...spec, mount: "bx-workers" });
    }
  }
  reg.addSession(session);

  const notice = q.install_finished === "Y"
    ? { warn: false, text: t.installFinished }
    : q.install_finished === "N"
    ? { warn: true, text: t.installFailed }
    : null;
  const langQuery = q.lang ? `?lang=${encodeURIComponent(lang)}` : "";
  const model: PageModel = {
    lang,
    text: t,
    domain: state.endpoints.domain,
    user,
    users: state.users.list(),
    appName: appName(state, lang),
    view,
    title,
    base: `/page/${user.id}`,
    langQuery,
    leftMenu,
    active,
    crm: listCrm(state),
    notice,
    message,
    frameHost,
    app: {
      installed,
      installing: !installed && reg.installerUrl !== null,
      installUrl: state.options.installUrl ?? state.options.appUrl ?? reg.lastInstallerUrl ?? "",
      identity: [
        ["client_id", app.clientId],
        ["CODE", app.code],
        ["member_id", state.memberId],
        ["VERSION", String(app.version)],
        ["STATUS", app.status],
      ],
      placements: state.placements.map((p) => ({
        id: p.id,
        name: p.placement + (p.userId ? ` (USER_ID ${p.userId})` : ""),
        detail: p.handler,
      })),
      handlers: state.eventHandlers.map((h) => ({
        id: h.id,
        name: h.event,
        detail: h.offline ? "offline" : h.handler,
      })),
    },
    config: {
      sessionId: session.id,
      userId: user.id,
      isAdmin: user.admin,
      api: `/_portal/session/${session.id}`,
      frames,
      uiStates: [...UI_STATES],
      allUiStates: ALL_UI_STATES,
      workerEvents: WORKER_EVENTS,
      bindEventDelayMs: state.options.pages.bindEventDelayMs,
      frameAllow: state.options.pages.frameAllow,
      text: t,
      users: transferUsers(state),
      appId: state.app.id,
    },
  };
  return c.html(renderPage(model, script), 200, { "cache-control": "no-store" });
}

const logEntrySchema = z.object({
  at: z.number(),
  kind: z.enum(["command", "answer", "event", "dropped", "card", "frame"]),
  name: z.string(),
  appSid: z.string().optional(),
  placement: z.string().optional(),
  params: z.unknown().optional(),
  answered: z.boolean().optional(),
  answer: z.unknown().optional(),
  reason: z.string().optional(),
  callId: z.string().optional(),
  targets: z.number().optional(),
});

const bodies = {
  log: z.union([logEntrySchema, z.array(logEntrySchema)]),
  appSid: z.object({ appSid: z.string() }),
  installFinish: z.object({ value: z.boolean().default(true) }),
  setInstall: z.object({ install: z.boolean() }),
  option: z.object({ scope: z.enum(["user", "app"]), name: z.string().min(1), value: z.unknown() }),
  frameLoad: z.object({ appSid: z.string(), ms: z.number().min(0) }),
  frame: z.discriminatedUnion("role", [
    z.object({
      role: z.literal("slider"),
      placementOptions: z.record(z.string(), z.unknown()).default({}),
    }),
    /** The worker frames of a slider page (`uri` is the slider page's request URI). */
    z.object({ role: z.literal("worker"), uri: z.string().min(1).max(500) }),
  ]),
  clickToCall: z.object({
    phoneNumber: z.string().min(1),
    crmEntityType: z.enum(["CONTACT", "COMPANY", "LEAD"]).optional(),
    crmEntityId: z.number().int().positive().optional(),
  }),
  cardClosed: z.object({ callId: z.string() }),
};

async function body<T extends z.ZodType>(c: Context, schema: T): Promise<z.output<T> | null> {
  const parsed = schema.safeParse(await c.req.json().catch(() => undefined));
  return parsed.success ? parsed.data : null;
}

/** Today in the portal's clock (the overtime counter is per day). */
function today(state: PortalState): string {
  return new Date(state.clock.now()).toISOString().slice(0, 10);
}

/** CORE's speed rule for PAGE_BACKGROUND_WORKER: too many slow loads delete the placement. */
async function frameLoaded(
  state: PortalState,
  session: PageSession,
  spec: FrameSpec,
  ms: number,
): Promise<{ overtime: boolean; overtimeCount: number; removed: boolean }> {
  const o = state.options.pages;
  const overtime = spec.placement === WORKER && spec.placementId !== null &&
    ms > o.maxLoadDelayMs;
  const count = overtime ? state.pages.countOvertime(spec.placementId!, today(state)) : 0;
  const index = state.placements.findIndex((p) => p.id === spec.placementId);
  const removed = overtime && count > o.maxOvertimeCount && index >= 0;
  const binding = removed ? state.placements.splice(index, 1)[0] : undefined;
  state.pages.addLoad({
    sessionId: session.id,
    userId: session.userId,
    appSid: spec.appSid,
    role: spec.role,
    placement: spec.placement,
    placementId: spec.placementId,
    handler: spec.handler,
    ms,
    overtime,
    overtimeCount: count,
    removed,
    at: state.clock.now(),
  });
  const errorUrl = binding?.options.errorHandlerUrl;
  if (binding && typeof errorUrl === "string" && errorUrl) {
    const report = {
      error: "ERROR_PLACEMENT_LOADING_OVERTIME",
      error_description: `The handler of the PAGE_BACKGROUND_WORKER placement took longer than ` +
        `${o.maxLoadDelayMs} ms to load more than ${o.maxOvertimeCount} times today; ` +
        `the placement has been removed.`,
    };
    let status: number | null = null;
    let error: string | undefined;
    try {
      const res = await fetch(errorUrl, {
        method: "POST",
        body: new URLSearchParams(report),
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      status = res.status;
    } catch (err) {
      error = String(err);
    }
    state.pages.addReport({
      placementId: binding.id,
      url: errorUrl,
      body: report,
      status,
      ...(error ? { error } : {}),
      at: state.clock.now(),
    });
  }
  return { overtime, overtimeCount: count, removed };
}

/** A click-to-call from the page: ONEXTERNALCALLSTART to the app, and the card opens. */
async function pageClickToCall(
  state: PortalState,
  userId: number,
  input: z.output<typeof bodies.clickToCall>,
): Promise<{ callId: string; delivered: number }> {
  // Every click is a new call: an earlier, finished call with the same number must not be
  // returned by the 30-minute de-duplication of registrations.
  const line = state.lines[0]?.number ?? "";
  const key = [phoneDigits(input.phoneNumber), 1, userId, line, ""].join("|");
  for (const call of state.calls.values()) {
    if (call.finished && call.dedupeKey === key) call.dedupeKey = `${key}|finished`;
  }
  const show = (callId: string) => void state.calls.get(callId)?.shownTo.add(userId);
  if (state.options.pages.clickToCallOrder === "event-first") {
    const { callId, events } = await clickToCall(state, { userId, ...input });
    show(callId);
    return { callId, delivered: events.length };
  }
  // card-first: the card (pull) is up while the event still waits in the REST queue.
  const lag = state.options.pages.eventLagMs;
  const { callId, events } = await clickToCall(state, { userId, ...input }, async (id) => {
    show(id);
    await new Promise((r) => setTimeout(r, lag));
  });
  return { callId, delivered: events.length };
}

function stream(state: PortalState, session: PageSession): Response {
  const enc = new TextEncoder();
  let timer: ReturnType<typeof setInterval> | undefined;
  let unregister = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      let last = "";
      let ticks = 0;
      const close = () => {
        clearInterval(timer);
        try {
          controller.close();
        } catch {
          // already closed
        }
      };
      const send = () => {
        const snap = JSON.stringify(callsFor(state, session.userId));
        try {
          if (snap !== last) {
            last = snap;
            controller.enqueue(enc.encode(`event: calls\ndata: ${snap}\n\n`));
          } else if (++ticks % 75 === 0) {
            controller.enqueue(enc.encode(": keep-alive\n\n"));
          }
        } catch {
          close();
          unregister();
        }
      };
      unregister = state.pages.addStream(close);
      controller.enqueue(enc.encode("retry: 1000\n\n"));
      send();
      timer = setInterval(send, 200);
    },
    cancel() {
      clearInterval(timer);
      unregister();
    },
  });
  return new Response(body, {
    headers: { "content-type": "text/event-stream", "cache-control": "no-store" },
  });
}

/** The session API the page script calls. */
function sessionApi(state: PortalState): Hono {
  const api = new Hono();
  const reg = state.pages;
  const sessionOf = (c: Context) => reg.sessions.get(c.req.param("sid") ?? "");
  const gone = (c: Context) => c.json({ error: "unknown page session" }, 404);
  const bad = (c: Context) => c.json({ error: "bad request" }, 400);

  api.post("/:sid/log", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.log);
    if (!b) return bad(c);
    for (const e of Array.isArray(b) ? b : [b]) {
      reg.addLog({ ...e, sessionId: s.id, userId: s.userId } as PageLogEntry);
    }
    return c.json({ result: true });
  });

  api.post("/:sid/refresh-auth", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.appSid);
    if (!b || !s.frames.has(b.appSid)) return bad(c);
    if (state.app.removed) return c.json({ error: "app is not installed" }, 403);
    const t = state.tokenSet(state.issue(s.userId));
    return c.json({
      AUTH_ID: t.accessToken,
      AUTH_EXPIRES: t.expiresIn,
      REFRESH_ID: t.refreshToken,
    });
  });

  api.post("/:sid/install-finish", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.installFinish);
    if (!b) return bad(c);
    if (!state.users.require(s.userId).admin) return c.json({ result: false });
    if (b.value) {
      await finishInstall(state);
      if (state.app.installed) reg.installerUrl = null;
    }
    return c.json({ result: b.value && state.app.installed });
  });

  api.post("/:sid/set-install", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.setInstall);
    if (!b) return bad(c);
    reg.setInstall(s.userId, state.app.version, b.install);
    return c.json({ result: true });
  });

  api.post("/:sid/option", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.option);
    if (!b) return bad(c);
    if (b.scope === "app") {
      if (!state.users.require(s.userId).admin) return c.json({ result: false }, 403);
      reg.appOptions[b.name] = b.value;
    } else {
      reg.userOptions(s.userId)[b.name] = b.value;
    }
    return c.json({ result: true });
  });

  api.post("/:sid/frame-load", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.frameLoad);
    const spec = b && s.frames.get(b.appSid);
    if (!b || !spec) return bad(c);
    return c.json(await frameLoaded(state, s, spec, Math.round(b.ms)));
  });

  api.post("/:sid/frame", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.frame);
    if (b?.role === "worker") return c.json(workerFrames(state, s, b.uri));
    const handler = defaultHandler(state);
    if (!b || !handler) return bad(c);
    return c.json(
      createFrame(state, s, { role: "slider", handler, placementOptions: b.placementOptions }),
    );
  });

  api.post("/:sid/click-to-call", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.clickToCall);
    if (!b) return bad(c);
    try {
      return c.json(await pageClickToCall(state, s.userId, b));
    } catch (err) {
      return c.json({ error: String((err as Error).message ?? err) }, 400);
    }
  });

  api.post("/:sid/card-closed", async (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    const b = await body(c, bodies.cardClosed);
    if (!b) return bad(c);
    state.calls.get(b.callId)?.shownTo.delete(s.userId);
    return c.json({ result: true });
  });

  api.get("/:sid/stream", (c) => {
    const s = sessionOf(c);
    if (!s) return gone(c);
    if (reg.closed) return c.text("closing", 503);
    return stream(state, s);
  });
  return api;
}

/** Builds the pages router (mounted at `/` of the portal). */
export function pagesApp(state: PortalState): Hono {
  const app = new Hono();
  const userOf = (c: Context) => {
    const id = Number(c.req.param("userId"));
    const user = Number.isInteger(id) ? state.users.get(id) : undefined;
    return user?.active ? user : undefined;
  };
  const back = (c: Context, user: PortalUser) => {
    const lang = c.req.query("lang");
    return c.redirect(`/page/${user.id}${lang ? `?lang=${encodeURIComponent(lang)}` : ""}`, 303);
  };

  app.get("/", (c) => c.redirect(`/page/${firstAdmin(state)}`));
  app.get("/page/:userId", async (c) => {
    const user = userOf(c);
    return user ? page(c, state, user, await pageScript()) : c.text("No such active user", 404);
  });
  app.post("/page/:userId/install", async (c) => {
    const user = userOf(c);
    if (!user?.admin) return c.text("Only an administrator installs apps", 403);
    const form = await c.req.formData().catch(() => new FormData());
    const given = String(form.get("handlerUrl") ?? "").trim();
    const handlerUrl = given || state.options.installUrl || state.options.appUrl;
    if (!handlerUrl || !URL.canParse(handlerUrl)) return c.text("No installer URL", 400);
    await installApp(state, { handlerUrl, userId: user.id });
    state.pages.installerUrl = handlerUrl;
    state.pages.lastInstallerUrl = handlerUrl;
    return back(c, user);
  });
  app.post("/page/:userId/uninstall", async (c) => {
    const user = userOf(c);
    if (!user?.admin) return c.text("Only an administrator deletes apps", 403);
    await uninstallApp(state);
    state.pages.installerUrl = null;
    return back(c, user);
  });
  app.route("/_portal/session", sessionApi(state));
  return app;
}
