/**
 * The portal page's script: the parent side of the frame postMessage protocol (reference
 * "Frame postMessage protocol of @bitrix24/b24jssdk 2.2.0", after CORE `BX.rest.AppLayout`), the
 * PAGE_BACKGROUND_WORKER call-card interface (CORE `base-worker.js`, `browser-worker.js`,
 * `view.js`), the call card itself, the slider, click-to-call and the protocol log.
 *
 * {@link portalClient} is served as `(${portalClient})(config)`, so its body must not use anything
 * outside itself (types only).
 *
 * @module
 */
import type { CallsSnapshot, CardCall } from "./calls.ts";
import type { FrameSpec, PageLogEntry } from "./registry.ts";

/** A frame to insert and the id of the element it goes into. */
export interface ClientFrame extends FrameSpec {
  mount: string;
}

/** An employee the call card can transfer to. */
export interface TransferUser {
  id: number;
  name: string;
  phones: { label: string; number: string }[];
}

/** What the server tells the page's script. */
export interface ClientConfig {
  sessionId: string;
  userId: number;
  isAdmin: boolean;
  /** `/_portal/session/<id>`. */
  api: string;
  frames: ClientFrame[];
  /** The 12 states `CallCardGetListUiStates` answers. */
  uiStates: string[];
  /** Every state `CallCardSetUiState` accepts (CORE `UiState`, 15). */
  allUiStates: string[];
  /** PAGE_BACKGROUND_WORKER events (`BackgroundCallCard::…`, 17). */
  workerEvents: string[];
  bindEventDelayMs: number;
  /** The frames' `allow` attribute (`pages.frameAllow`). */
  frameAllow: string;
  text: Record<string, string>;
  users: TransferUser[];
  /** The app's id (slider URLs). */
  appId: number;
}

/** The page's script; see the module doc. */
export function portalClient(cfg: ClientConfig): void {
  // deno-lint-ignore no-explicit-any
  type Params = any;
  type Answer = (res?: unknown) => void;
  type Handler = (f: Frame, p: Params, cb: Answer, key: string) => void;
  interface Frame {
    spec: ClientFrame;
    iframe: HTMLIFrameElement;
    layout: HTMLElement;
    firstRun: boolean;
    loadMs: number | null;
    /** Event name → callback keys. */
    bindings: Map<string, string[]>;
    boundAt: Map<string, number>;
    /** Event deliveries, in order. */
    queue: Promise<void>;
    /** CALL_IDs whose `initialized` this frame got. */
    initialized: Set<string>;
  }
  interface Card {
    call: CardCall;
    uiState: string;
    muted: boolean;
    held: boolean;
    title: string;
    statusText: string;
    timerShown: boolean;
    initialTimestamp: number;
    timerInterval: ReturnType<typeof setInterval> | null;
    panel: "" | "dialpad" | "transfer" | "quality";
    commentShown: boolean;
  }

  const WORKER = "PAGE_BACKGROUND_WORKER";
  const CARD_UNDEFINED = { result: "error", errorCode: "Call card is undefined" };
  const DENIED_OUTSIDE_DEFAULT = ["setTitle", "setScroll", "reloadWindow"];
  const OPEN_PATH =
    /^\/(crm\/(deal|lead|contact|company|type)|marketplace|company\/personal\/user\/[0-9]+|workgroups\/group\/[0-9]+)\//;
  const t = cfg.text;
  const frames = new Map<string, Frame>();
  const logEntries: PageLogEntry[] = [];
  const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  let card: Card | null = null;
  let snapshot: CallsSnapshot = { shown: [], finished: [] };
  const closedLocally = new Set<string>();
  let sliderSeq = 0;

  // ---- server calls and the log ----------------------------------------------------------

  function post(action: string, body: unknown, keepalive = false): Promise<Params> {
    return fetch(`${cfg.api}/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
      keepalive,
    }).then((r) => r.ok ? r.json() : Promise.reject(new Error(`${action}: HTTP ${r.status}`)));
  }

  const pendingLog: PageLogEntry[] = [];
  let logInFlight = false;
  function flushLog(): void {
    if (logInFlight || pendingLog.length === 0) return;
    logInFlight = true;
    const batch = pendingLog.splice(0);
    post("log", batch).catch(() => {}).finally(() => {
      logInFlight = false;
      flushLog();
    });
  }

  function mask(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(mask);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.entries(v).map((
          [k, x],
        ) => [k, k === "AUTH_ID" || k === "REFRESH_ID" ? "***" : mask(x)]),
      );
    }
    return v;
  }

  function record(e: Omit<PageLogEntry, "at" | "sessionId" | "userId">): void {
    const entry = { at: Date.now(), sessionId: cfg.sessionId, userId: cfg.userId, ...e };
    logEntries.push(entry);
    pendingLog.push(entry);
    queueMicrotask(flushLog);
    const list = byTestId("protocol-log");
    if (list) {
      const li = document.createElement("li");
      li.className = `b24-log-${entry.kind}`;
      const time = new Date(entry.at).toLocaleTimeString();
      const body = entry.params === undefined ? "" : ` ${JSON.stringify(mask(entry.params))}`;
      const ans = entry.answered ? ` → ${JSON.stringify(mask(entry.answer)) ?? ""}` : "";
      const why = entry.reason ? ` (${entry.reason})` : "";
      const where = entry.placement ? ` [${entry.placement}]` : "";
      li.textContent = `${time} ${entry.kind} ${entry.name}${where}${body}${ans}${why}`;
      list.prepend(li);
      while (list.children.length > 300) list.lastElementChild?.remove();
    }
  }

  // ---- frames ----------------------------------------------------------------------------

  function mount(spec: ClientFrame): Frame {
    const host = document.getElementById(spec.mount)!;
    const layout = document.createElement("div");
    layout.className = `b24-frame-layout b24-frame-layout-${spec.role}`;
    layout.dataset.testid = `app-layout-${spec.role}`;
    const iframe = document.createElement("iframe");
    iframe.name = spec.frameName;
    iframe.setAttribute("allow", cfg.frameAllow);
    iframe.className = "b24-frame";
    iframe.title = spec.placement;
    iframe.dataset.testid = `app-frame-${spec.role}`;
    iframe.dataset.placement = spec.placement;
    iframe.dataset.appSid = spec.appSid;
    layout.appendChild(iframe);
    host.appendChild(layout);
    const form = document.createElement("form");
    form.method = "post";
    form.action = spec.url;
    form.target = spec.frameName;
    form.hidden = true;
    for (const [name, value] of Object.entries(spec.fields)) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.appendChild(input);
    }
    host.appendChild(form);
    const f: Frame = {
      spec,
      iframe,
      layout,
      firstRun: spec.init.FIRST_RUN,
      loadMs: null,
      bindings: new Map(),
      boundAt: new Map(),
      queue: Promise.resolve(),
      initialized: new Set(),
    };
    frames.set(spec.appSid, f);
    const started = performance.now();
    iframe.addEventListener("load", () => {
      if (f.loadMs !== null) return;
      try {
        // The initial about:blank document is readable; the app's page is cross-origin.
        if (iframe.contentWindow?.location.href === "about:blank") return;
      } catch {
        // the app's document
      }
      f.loadMs = Math.round(performance.now() - started);
      iframe.dataset.loadMs = String(f.loadMs);
      post("frame-load", { appSid: spec.appSid, ms: f.loadMs }).catch(() => {});
      renderWorkers();
    });
    form.submit();
    record({ kind: "frame", name: "insert", appSid: spec.appSid, placement: spec.placement });
    renderWorkers();
    return f;
  }

  function reply(f: Frame, key: string, res: unknown): void {
    if (!key) return;
    const data = `${key}:${res === undefined ? "" : JSON.stringify(res)}`;
    f.iframe.contentWindow?.postMessage(data, f.spec.origin);
  }

  // ---- commands --------------------------------------------------------------------------

  const base: Record<string, Handler> = {
    getInitData(f, _p, cb) {
      cb({ ...f.spec.init, FIRST_RUN: f.firstRun });
      f.firstRun = false;
    },
    getInterface(f, _p, cb) {
      cb({ command: placementCommandNames(f), event: placementEvents(f) });
    },
    refreshAuth(f, _p, cb) {
      post("refresh-auth", { appSid: f.spec.appSid }).then((r) => {
        f.spec.init.AUTH_ID = r.AUTH_ID;
        f.spec.init.AUTH_EXPIRES = String(r.AUTH_EXPIRES);
        f.spec.init.REFRESH_ID = r.REFRESH_ID;
        cb(r);
      }).catch((err) => console.error(err));
    },
    resizeWindow(f, p, cb) {
      const width = p.width == "100%" ? "100%" : `${parseInt(p.width) || 100}px`;
      const height = parseInt(p.height);
      f.layout.style.width = width;
      if (height) f.layout.style.height = `${height}px`;
      const r = f.layout.getBoundingClientRect();
      cb({ width: r.width, height: r.height });
    },
    setTitle(_f, p, cb) {
      document.title = String(p.title);
      const h = byTestId("page-title");
      if (h) h.textContent = String(p.title);
      cb(p);
    },
    setScroll(_f, p, cb) {
      if (p && p.scroll !== undefined && p.scroll >= 0) {
        globalThis.scrollTo(globalThis.scrollX, parseInt(p.scroll));
      }
      cb(p);
    },
    setUserOption(f, p, cb) {
      f.spec.init.USER_OPTIONS[p.name] = p.value;
      post("option", { scope: "user", name: p.name, value: p.value }).catch(() => {});
      cb(p);
    },
    setAppOption(f, p, cb) {
      if (!f.spec.init.IS_ADMIN) return;
      post("option", { scope: "app", name: p.name, value: p.value }).then(cb).catch(() => {});
    },
    setInstall(_f, p, cb) {
      post("set-install", { install: !!p.install }).catch(() => {});
      cb(p);
    },
    setInstallFinish(_f, p) {
      post("install-finish", { value: p.value !== false }).then((r) => {
        const u = new URL(location.href);
        u.searchParams.set("install_finished", r.result ? "Y" : "N");
        location.href = u.toString();
      }).catch((err) => console.error(err));
    },
    reloadWindow() {
      location.reload();
    },
    imCallTo() {},
    imOpenMessenger() {},
    imOpenHistory() {},
    imPhoneTo(_f, p) {
      if (p && p.phone) clickToCall({ phoneNumber: String(p.phone) });
    },
    openApplication(_f, p, cb) {
      openAppSlider(p && typeof p === "object" ? p : {}, () => cb());
    },
    closeApplication(f, _p, cb) {
      if (f.spec.role === "slider") closeSlider(f.layout.closest(".b24-slider"), cb);
    },
    openPath(_f, p, cb) {
      const path = p && typeof p.path === "string" ? p.path : "";
      if (!OPEN_PATH.test(path)) {
        cb({ result: "error", errorCode: "PATH_NOT_AVAILABLE" });
        return;
      }
      const { body, workersId } = createSlider(path, () => cb({ result: "close" }));
      loadSliderWorkers(path, workersId);
      const note = document.createElement("p");
      note.className = "b24-muted";
      note.textContent = `${path} — ${t.pathNotEmulated}`;
      body.appendChild(note);
    },
  };

  const placementBase: Record<string, Handler> = {
    placementBindEvent(f, p, _cb, key) {
      if (!p || typeof p.event !== "string" || !placementEvents(f).includes(p.event) || !key) {
        return;
      }
      const keys = f.bindings.get(p.event) ?? [];
      keys.push(key);
      f.bindings.set(p.event, keys);
      f.boundAt.set(key, Date.now());
      renderWorkers();
      // A card already open when the worker subscribes: it still gets `initialized` once.
      if (p.event === "BackgroundCallCard::initialized" && card) {
        const id = card.call.CALL_ID;
        if (!f.initialized.has(id)) {
          f.initialized.add(id);
          deliver(f, key, initializedPayload(card.call));
          record({
            kind: "event",
            name: p.event,
            appSid: f.spec.appSid,
            placement: f.spec.placement,
            params: initializedPayload(card.call),
            targets: 1,
            callId: id,
            reason: "card was open before the frame bound the event",
          });
        }
      }
    },
  };

  function requireCard(cb: Answer): Card | null {
    if (!card) cb([CARD_UNDEFINED]);
    return card;
  }

  const workerCommands: Record<string, Handler> = {
    CallCardSetMute(_f, p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      c.muted = !!p.muted;
      renderCard();
      cb([]);
    },
    CallCardSetHold(_f, p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      c.held = !!p.held;
      renderCard();
      cb([]);
    },
    CallCardSetUiState(_f, p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      if (!p || !p.uiState || !cfg.allUiStates.includes(p.uiState)) {
        cb([{ result: "error", errorCode: "Invalid ui state" }]);
        return;
      }
      c.uiState = p.uiState;
      if (p.uiState === "connected") {
        startTimer(c);
        if (p.disableAutoStartTimer) {
          stopTimer(c);
          hideTimer(c);
        } else {
          c.timerShown = true;
        }
      }
      if (p.uiState !== "connected" && c.timerInterval === null) hideTimer(c);
      if (c.panel === "transfer" && p.uiState !== "connected") c.panel = "";
      renderCard();
      cb([]);
    },
    CallCardGetListUiStates(_f, _p, cb) {
      cb([...cfg.uiStates]);
    },
    CallCardSetCardTitle(_f, p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      c.title = String(p.title ?? "");
      renderCard();
      cb([]);
    },
    CallCardSetStatusText(_f, p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      c.statusText = String(p.statusText ?? "");
      renderCard();
      cb([]);
    },
    CallCardClose(_f, _p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      closeCard("CallCardClose");
      cb([]);
    },
    // In the browser the timer commands never answer on success (CORE base-worker.js).
    CallCardStartTimer(_f, _p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      c.timerShown = true;
      startTimer(c);
      renderCard();
    },
    CallCardStopTimer(_f, _p, cb) {
      const c = requireCard(cb);
      if (!c) return;
      stopTimer(c);
      renderCard();
    },
  };

  function placementEvents(f: Frame): string[] {
    return f.spec.placement === WORKER ? cfg.workerEvents : [];
  }

  function placementCommandNames(f: Frame): string[] {
    return f.spec.placement === WORKER ? Object.keys(workerCommands) : [];
  }

  function commandsOf(f: Frame): Record<string, Handler> {
    if (f.spec.placement === "DEFAULT") return base;
    if (f.spec.placement === WORKER) return { ...base, ...placementBase, ...workerCommands };
    return { ...base, ...placementBase };
  }

  function handle(f: Frame, method: string, params: Params, key: string): void {
    const where = { appSid: f.spec.appSid, placement: f.spec.placement };
    const fn = Object.hasOwn(commandsOf(f), method) ? commandsOf(f)[method] : undefined;
    if (!fn) {
      record({ kind: "dropped", name: method, ...where, params, reason: "unknown command" });
      return;
    }
    if (f.spec.placement !== "DEFAULT" && DENIED_OUTSIDE_DEFAULT.includes(method)) {
      record({ kind: "dropped", name: method, ...where, params, reason: "denied outside DEFAULT" });
      return;
    }
    const entry: Omit<PageLogEntry, "at" | "sessionId" | "userId"> = {
      kind: "command",
      name: method,
      ...where,
      params,
      answered: false,
    };
    let sync = true;
    const answer: Answer = (res) => {
      reply(f, key, res);
      if (sync) {
        entry.answered = true;
        entry.answer = res;
      } else {
        record({ kind: "answer", name: method, ...where, answered: true, answer: res });
      }
    };
    try {
      fn(f, params ?? {}, answer, key);
    } catch (err) {
      console.error(`${method}:`, err);
    }
    sync = false;
    record(entry);
  }

  globalThis.addEventListener("message", (e: MessageEvent) => {
    let method: string;
    let sid: string;
    let key: string;
    let params: Params;
    if (typeof e.data === "string") {
      const r = e.data.split(":");
      if (r.length < 3) return;
      method = r[0];
      sid = r[r.length - 1];
      key = r[r.length - 2];
      const raw = r.slice(1, r.length - 2).join(":");
      if (raw !== "") {
        try {
          params = JSON.parse(raw);
        } catch {
          params = raw;
          const f = frames.get(sid);
          if (f && e.origin === f.spec.origin) {
            record({ kind: "dropped", name: method, appSid: sid, reason: "params are not JSON" });
            return;
          }
        }
      }
    } else if (e.data && typeof e.data === "object" && typeof e.data.method === "string") {
      method = e.data.method;
      sid = String(e.data.appSid ?? "");
      key = String(e.data.callback ?? "");
      params = e.data.params || undefined;
    } else {
      return;
    }
    const f = frames.get(sid);
    if (!f) {
      record({ kind: "dropped", name: method, appSid: sid, reason: "unknown APP_SID" });
      return;
    }
    if (e.origin !== f.spec.origin) {
      record({
        kind: "dropped",
        name: method,
        appSid: sid,
        placement: f.spec.placement,
        reason: `origin ${e.origin} is not ${f.spec.origin}`,
      });
      return;
    }
    handle(f, method, params, key);
  });

  // ---- placement events ------------------------------------------------------------------

  /**
   * Posts an event to a bound key, in emission order per frame, but never earlier than
   * `bindEventDelayMs` after that key's `placementBindEvent` (reference §E: earlier posts would
   * resolve the SDK's bind promise instead of reaching the callback).
   */
  function deliver(f: Frame, key: string, params: unknown): void {
    const due = (f.boundAt.get(key) ?? 0) + cfg.bindEventDelayMs;
    f.queue = f.queue
      .then(() =>
        new Promise<void>((resolve) => {
          const wait = due - Date.now();
          wait > 0 ? setTimeout(resolve, wait) : resolve();
        })
      )
      .then(() => {
        if (frames.get(f.spec.appSid) === f) reply(f, key, params);
      });
  }

  /** `BX.onCustomEvent(window, 'BackgroundCallCard::' + name, [params])` for bound frames. */
  function emit(name: string, params?: unknown): void {
    const full = `BackgroundCallCard::${name}`;
    let targets = 0;
    for (const f of frames.values()) {
      for (const key of f.bindings.get(full) ?? []) {
        targets++;
        deliver(f, key, params);
        if (name === "initialized" && card) f.initialized.add(card.call.CALL_ID);
      }
    }
    record({ kind: "event", name: full, params, targets, callId: card?.call.CALL_ID });
  }

  function initializedPayload(call: CardCall): Record<string, unknown> {
    const { crmName: _name, ...rest } = call;
    return rest;
  }

  // ---- the call card ---------------------------------------------------------------------

  function buttonsFor(c: Card): string[] {
    switch (c.uiState) {
      case "incoming":
      case "transferIncoming":
        return ["answer", "skip"];
      case "outgoing":
        return ["makeCall"];
      case "connectingIncoming":
      case "connectingOutgoing":
      case "transferConnected":
        return ["hangup"];
      case "connected":
        return ["hold", "mute", "quality", "transfer", "dialpad", "hangup"];
      case "transferring":
        return ["transferComplete", "transferCancel"];
      case "transferFailed":
        return ["transferCancel"];
      case "idle":
        return c.call.CALL_DIRECTION === "outgoing" ? ["redial", "close"] : ["close"];
      case "error":
      case "sipPhoneError":
        return ["close"];
      case "moneyError":
        return ["notifyAdmin", "close"];
      case "redial":
        return ["redial"];
      default: // externalCard
        return ["close"];
    }
  }

  function defaultTitle(call: CardCall): string {
    const what = call.CALL_DIRECTION === "outgoing"
      ? t.cardTitleOutgoing
      : call.CALL_DIRECTION === "callback"
      ? t.cardTitleCallback
      : t.cardTitleIncoming;
    return `${what}: ${call.crmName ?? call.PHONE_NUMBER}`;
  }

  function pad(n: number): string {
    return String(n).padStart(2, "0");
  }

  function renderTimer(c: Card): void {
    const el = byTestId("call-card-timer");
    if (!el) return;
    const s = c.initialTimestamp ? Math.floor((Date.now() - c.initialTimestamp) / 1000) : 0;
    el.textContent = `${pad(Math.floor(s / 60))}:${pad(s % 60)}`;
  }

  function startTimer(c: Card): void {
    if (c.timerInterval !== null) return;
    if (c.initialTimestamp === 0) c.initialTimestamp = Date.now();
    c.timerInterval = setInterval(() => renderTimer(c), 1000);
    renderTimer(c);
  }

  function stopTimer(c: Card): void {
    if (c.timerInterval === null) return;
    clearInterval(c.timerInterval);
    c.timerInterval = null;
    renderTimer(c);
  }

  function hideTimer(c: Card): void {
    c.timerShown = false;
    c.initialTimestamp = 0;
  }

  function setText(id: string, text: string): void {
    const el = byTestId(id);
    if (el) el.textContent = text;
  }

  function renderCard(): void {
    const root = byTestId("call-card");
    if (!root) return;
    if (!card) {
      root.hidden = true;
      root.dataset.callId = "";
      root.dataset.uiState = "";
      return;
    }
    const c = card;
    root.hidden = false;
    root.dataset.callId = c.call.CALL_ID;
    root.dataset.uiState = c.uiState;
    root.dataset.direction = c.call.CALL_DIRECTION;
    root.dataset.muted = String(c.muted);
    root.dataset.held = String(c.held);
    root.dataset.timer = !c.timerShown
      ? "hidden"
      : c.timerInterval !== null
      ? "running"
      : "stopped";
    setText("call-card-title", c.title);
    setText("call-card-number", c.call.PHONE_NUMBER);
    setText(
      "call-card-crm",
      c.call.crmName ? `${t[`type${c.call.CRM_ENTITY_TYPE}`] ?? ""} ${c.call.crmName}` : "",
    );
    setText("call-card-line", c.call.LINE_NUMBER ? `${t.line}: ${c.call.LINE_NUMBER}` : "");
    setText("call-card-status", c.statusText);
    setText("call-card-ui-state", c.uiState);
    const timer = byTestId("call-card-timer");
    if (timer) timer.hidden = !c.timerShown;
    renderTimer(c);
    const shown = buttonsFor(c);
    for (const el of root.querySelectorAll<HTMLElement>("[data-button]")) {
      el.hidden = !shown.includes(el.dataset.button!);
    }
    for (const [name, on] of [["mute", c.muted], ["hold", c.held]] as const) {
      const b = byTestId(`call-card-${name}`);
      b?.setAttribute("aria-pressed", String(on));
      b?.classList.toggle("active", on);
    }
    const panels: Record<string, string> = {
      dialpad: "call-card-dialpad-panel",
      transfer: "call-card-transfer-panel",
      quality: "call-card-quality-panel",
    };
    for (const [name, id] of Object.entries(panels)) {
      const panel = byTestId(id);
      if (panel) panel.hidden = c.panel !== name || !shown.includes(name);
    }
    const comment = byTestId("call-card-comment-box");
    if (comment) comment.hidden = !c.commentShown;
    setText("call-card-comment", c.commentShown ? t.commentSave : t.comment);
  }

  function openCard(call: CardCall): void {
    card = {
      call,
      uiState: "externalCard",
      muted: false,
      held: false,
      title: defaultTitle(call),
      statusText: "",
      timerShown: false,
      initialTimestamp: 0,
      timerInterval: null,
      panel: "",
      commentShown: false,
    };
    renderCard();
    record({ kind: "card", name: "open", callId: call.CALL_ID, params: initializedPayload(call) });
    // CORE: loadCrmCard() runs in the card's constructor, before emitInitializeEvent().
    if (call.CRM_ENTITY_TYPE) {
      emit("entityChanged", {
        CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE,
        CRM_ENTITY_ID: call.CRM_ENTITY_ID,
        PHONE_NUMBER: call.PHONE_NUMBER,
      });
    }
    emit("initialized", initializedPayload(call));
  }

  function closeCard(reason: string): void {
    if (!card) return;
    const id = card.call.CALL_ID;
    if (card.timerInterval !== null) clearInterval(card.timerInterval);
    card = null;
    closedLocally.add(id);
    renderCard();
    record({ kind: "card", name: "close", callId: id, reason });
    post("card-closed", { callId: id }, true).catch(() => {});
    queueMicrotask(syncCards);
  }

  function syncCards(): void {
    const shownIds = new Set(snapshot.shown.map((c) => c.CALL_ID));
    for (const id of [...closedLocally]) if (!shownIds.has(id)) closedLocally.delete(id);
    if (card) {
      const id = card.call.CALL_ID;
      // externalcall.finish and externalcall.hide → the card closes itself (CORE helper.php
      // finishExternalCall → hideExternalCall → autoClose), unless its comment box is open.
      if (snapshot.finished.includes(id)) {
        if (!card.commentShown) closeCard("finished");
      } else if (!shownIds.has(id)) {
        closeCard("hidden");
      }
    }
    if (!card) {
      const next = snapshot.shown.find((c) => !closedLocally.has(c.CALL_ID));
      if (next) openCard(next);
    }
  }

  function onCardClick(name: string, value?: string): void {
    const c = card;
    if (!c) return;
    switch (name) {
      case "answer":
        return emit("answerButtonClick");
      case "skip":
        return emit("skipButtonClick");
      case "hangup":
        return emit("hangupButtonClick");
      case "makeCall":
      case "redial":
        return emit("makeCallButtonClick");
      case "notifyAdmin":
        return emit("notifyAdminButtonClick");
      case "transferComplete":
        return emit("completeTransferButtonClick");
      case "transferCancel":
        return emit("cancelTransferButtonClick");
      case "close":
        emit("closeButtonClick");
        return closeCard("close button");
      case "mute":
        c.muted = !c.muted;
        renderCard();
        return emit("muteButtonClick", c.muted);
      case "hold":
        c.held = !c.held;
        renderCard();
        return emit("holdButtonClick", c.held);
      case "dialpad":
      case "transfer":
      case "quality":
        c.panel = c.panel === name ? "" : name;
        return renderCard();
      case "key":
        return emit("dialpadButtonClick", value);
      case "star":
        c.panel = "";
        renderCard();
        return emit("qualityMeterClick", value);
      case "transferTo": {
        c.panel = "";
        renderCard();
        const target = value && /^\d+$/.test(value) && !hasPhones(Number(value))
          ? Number(value)
          : value;
        return emit("transferButtonClick", { phoneNumber: c.call.PHONE_NUMBER, target });
      }
      case "comment": {
        c.commentShown = !c.commentShown;
        renderCard();
        const input = byTestId("call-card-comment-input") as HTMLTextAreaElement | null;
        if (c.commentShown) {
          input?.focus();
          return;
        }
        return emit("addCommentButtonClick", input?.value ?? "");
      }
    }
  }

  function hasPhones(userId: number): boolean {
    return (cfg.users.find((u) => u.id === userId)?.phones.length ?? 0) > 0;
  }

  document.addEventListener("click", (e) => {
    const el = (e.target as Element | null)?.closest<HTMLElement>("[data-card-action]");
    if (el) {
      e.preventDefault();
      onCardClick(el.dataset.cardAction!, el.dataset.value);
    }
  });
  byTestId("call-card-transfer-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byTestId("call-card-transfer-target") as HTMLInputElement | null;
    const value = input?.value.trim() ?? "";
    if (value) onCardClick("transferTo", value);
  });

  // ---- click-to-call ---------------------------------------------------------------------

  function clickToCall(body: Record<string, unknown>): void {
    post("click-to-call", body).then((r) => {
      record({ kind: "card", name: "click-to-call", callId: r.callId, params: body });
    }).catch((err) => console.error(err));
  }

  document.addEventListener("click", (e) => {
    const el = (e.target as Element | null)?.closest<HTMLElement>("[data-call-phone]");
    if (!el) return;
    e.preventDefault();
    clickToCall({
      phoneNumber: el.dataset.callPhone,
      crmEntityType: el.dataset.entityType || undefined,
      crmEntityId: el.dataset.entityId ? Number(el.dataset.entityId) : undefined,
    });
  });
  byTestId("crm-dial-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byTestId("crm-dial-input") as HTMLInputElement | null;
    const phoneNumber = input?.value.trim() ?? "";
    if (phoneNumber) clickToCall({ phoneNumber });
  });

  // ---- sliders (openApplication, openPath) ----------------------------------------------

  /**
   * A slider is a portal page in a frame: it loads the PAGE_BACKGROUND_WORKER frames too, with
   * the slider page's own `URI` (`…?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`, CORE intranet.placement),
   * and they get the card's events like the page's own.
   */
  function loadSliderWorkers(path: string, mountId: string): void {
    const uri = `${path}${path.includes("?") ? "&" : "?"}IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`;
    post("frame", { role: "worker", uri }).then((specs: FrameSpec[]) => {
      for (const spec of specs) mount({ ...spec, mount: mountId });
    }).catch((err) => console.error(err));
  }

  function createSlider(title: string, onClose: () => void) {
    const id = `b24-slider-${++sliderSeq}`;
    const root = document.createElement("div");
    root.className = "b24-slider";
    root.dataset.testid = "slider";
    const panel = document.createElement("div");
    panel.className = "b24-slider-panel";
    const head = document.createElement("div");
    head.className = "b24-slider-head";
    const h = document.createElement("h2");
    h.textContent = title;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "b24-slider-close";
    close.dataset.testid = "slider-close";
    close.setAttribute("aria-label", t.sliderClose);
    close.textContent = "×";
    head.append(h, close);
    const body = document.createElement("div");
    body.className = "b24-slider-body";
    body.id = id;
    const workers = document.createElement("div");
    workers.className = "b24-workers";
    workers.id = `${id}-workers`;
    panel.append(head, body, workers);
    root.appendChild(panel);
    document.body.appendChild(root);
    (root as HTMLElement & { onSliderClose?: () => void }).onSliderClose = onClose;
    close.addEventListener("click", () => closeSlider(root));
    return { root, body, id, workersId: workers.id };
  }

  function closeSlider(root: Element | null, after?: () => void): void {
    if (!root) return;
    for (const el of root.querySelectorAll<HTMLIFrameElement>("iframe[data-app-sid]")) {
      frames.delete(el.dataset.appSid!);
    }
    root.remove();
    (root as HTMLElement & { onSliderClose?: () => void }).onSliderClose?.();
    after?.();
    renderWorkers();
  }

  function openAppSlider(params: Record<string, unknown>, onClose: () => void): void {
    const options: Record<string, unknown> = {};
    let title = "";
    for (const [k, v] of Object.entries(params)) {
      if (k.startsWith("bx24_")) {
        if (k === "bx24_title" && typeof v === "string") title = v;
      } else {
        options[k] = v;
      }
    }
    const { id, workersId } = createSlider(title || document.title, onClose);
    loadSliderWorkers(`/marketplace/app/${cfg.appId}/`, workersId);
    post("frame", { role: "slider", placementOptions: options }).then((spec: FrameSpec) => {
      mount({ ...spec, mount: id });
    }).catch((err) => console.error(err));
  }

  // ---- background worker status ------------------------------------------------------------

  function renderWorkers(): void {
    const list = byTestId("worker-status");
    if (!list) return;
    const workers = [...frames.values()].filter((f) => f.spec.role === "worker");
    if (workers.length === 0) return;
    list.replaceChildren(...workers.map((f) => {
      const li = document.createElement("li");
      const events = [...f.bindings.keys()].length;
      li.dataset.appSid = f.spec.appSid;
      li.textContent = `#${f.spec.placementId} ${f.spec.handler} — ` +
        `${f.loadMs === null ? "…" : `${f.loadMs} ms`}, events: ${events}`;
      return li;
    }));
  }

  // ---- header ----------------------------------------------------------------------------

  byTestId("user-switch")?.addEventListener("change", (e) => {
    const u = new URL(location.href);
    u.pathname = `/page/${(e.target as HTMLSelectElement).value}`;
    u.searchParams.delete("install_finished");
    location.href = u.toString();
  });
  byTestId("lang-switch")?.addEventListener("change", (e) => {
    const u = new URL(location.href);
    u.searchParams.set("lang", (e.target as HTMLSelectElement).value);
    location.href = u.toString();
  });

  // ---- start -----------------------------------------------------------------------------

  for (const spec of cfg.frames) mount(spec);
  renderCard();

  const stream = new EventSource(`${cfg.api}/stream`);
  stream.addEventListener("calls", (e) => {
    snapshot = JSON.parse((e as MessageEvent).data);
    syncCards();
  });
  globalThis.addEventListener("pagehide", () => stream.close());

  Object.assign(globalThis, {
    b24portal: {
      sessionId: cfg.sessionId,
      log: logEntries,
      frames: () =>
        [...frames.values()].map((f) => ({
          appSid: f.spec.appSid,
          role: f.spec.role,
          placement: f.spec.placement,
          loadMs: f.loadMs,
          events: [...f.bindings.keys()],
        })),
      card: () =>
        card && {
          callId: card.call.CALL_ID,
          uiState: card.uiState,
          muted: card.muted,
          held: card.held,
          title: card.title,
          statusText: card.statusText,
          timer: !card.timerShown ? "hidden" : card.timerInterval !== null ? "running" : "stopped",
        },
    },
  });
}
