/**
 * The app's frames on the page: inserting one (a hidden form POSTs its fields into a named
 * iframe, as the portal does), timing its load, posting answers and events into it, and the
 * developer bar's list of PAGE_BACKGROUND_WORKER frames.
 *
 * @module
 */
import { post } from "./api.ts";
import type { ClientFrame } from "./config.ts";
import { record } from "./log.ts";
import { byTestId, cfg } from "./page.ts";

/** A frame on the page and what the protocol tracks for it. */
export interface Frame {
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

/** The page's frames by APP_SID. */
export const frames = new Map<string, Frame>();

/** Inserts the frame of `spec` into its mount element and loads it. */
export function mount(spec: ClientFrame): Frame {
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

/** Posts `key:<json res>` into the frame (nothing without a key). */
export function reply(f: Frame, key: string, res: unknown): void {
  if (!key) return;
  const data = `${key}:${res === undefined ? "" : JSON.stringify(res)}`;
  f.iframe.contentWindow?.postMessage(data, f.spec.origin);
}

/** Shows the PAGE_BACKGROUND_WORKER frames, their load time and bound events. */
export function renderWorkers(): void {
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
