/**
 * The commands a frame may send (CORE `BX.rest.AppLayout` and the PAGE_BACKGROUND_WORKER call
 * card interface): which placement gets which, running one, and logging it with its answer
 * (answered at once, later, or never).
 *
 * @module
 */
import type { PageLogEntry } from "../registry.ts";
import { post } from "./api.ts";
import {
  type Card,
  closeCard,
  currentCard,
  hideTimer,
  renderCard,
  startTimer,
  stopTimer,
} from "./card.ts";
import { clickToCall } from "./click_to_call.ts";
import { deliver, initializedPayload } from "./events.ts";
import { type Frame, renderWorkers, reply } from "./frames.ts";
import { record } from "./log.ts";
import { byTestId, cfg, type Params, t } from "./page.ts";
import { closeSlider, createSlider, loadSliderWorkers, openAppSlider } from "./sliders.ts";

type Answer = (res?: unknown) => void;
type Handler = (f: Frame, p: Params, cb: Answer, key: string) => void;

const WORKER = "PAGE_BACKGROUND_WORKER";
const CARD_UNDEFINED = { result: "error", errorCode: "Call card is undefined" };
const DENIED_OUTSIDE_DEFAULT = ["setTitle", "setScroll", "reloadWindow"];
const OPEN_PATH =
  /^\/(crm\/(deal|lead|contact|company|type)|marketplace|company\/personal\/user\/[0-9]+|workgroups\/group\/[0-9]+)\//;

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
  // The page's heading only, never the tab's title: applayout.js setTitle calls
  // BX.ajax.UpdatePageTitle, which sets #pagetitle (UpdateWindowTitle is the one for
  // document.title, and setTitle does not call it).
  setTitle(_f, p, cb) {
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
    const card = currentCard();
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
  const card = currentCard();
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

/** Runs `method` from frame `f` with `params`, answering to `key`, and logs it. */
export function handle(f: Frame, method: string, params: Params, key: string): void {
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
