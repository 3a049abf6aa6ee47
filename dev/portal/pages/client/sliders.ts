/**
 * Sliders (`openApplication`, `openPath`): a panel over the page holding a frame or a note,
 * with its own PAGE_BACKGROUND_WORKER frames.
 *
 * @module
 */
import type { FrameSpec } from "../registry.ts";
import { post } from "./api.ts";
import { frames, mount, renderWorkers } from "./frames.ts";
import { cfg, t } from "./page.ts";

let sliderSeq = 0;

/**
 * A slider is a portal page in a frame: it loads the PAGE_BACKGROUND_WORKER frames too, with
 * the slider page's own `URI` (`…?IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`, CORE intranet.placement),
 * and they get the card's events like the page's own.
 */
export function loadSliderWorkers(path: string, mountId: string): void {
  const uri = `${path}${path.includes("?") ? "&" : "?"}IFRAME=Y&IFRAME_TYPE=SIDE_SLIDER`;
  post("frame", { role: "worker", uri }).then((specs: FrameSpec[]) => {
    for (const spec of specs) mount({ ...spec, mount: mountId });
  }).catch((err) => console.error(err));
}

/** Opens an empty slider titled `title`; `onClose` runs when it closes. */
export function createSlider(title: string, onClose: () => void) {
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

/** Closes the slider `root` (its frames leave the page), then runs `after`. */
export function closeSlider(root: Element | null, after?: () => void): void {
  if (!root) return;
  for (const el of root.querySelectorAll<HTMLIFrameElement>("iframe[data-app-sid]")) {
    frames.delete(el.dataset.appSid!);
  }
  root.remove();
  (root as HTMLElement & { onSliderClose?: () => void }).onSliderClose?.();
  after?.();
  renderWorkers();
}

/** `openApplication`: the app's own page in a slider, with `params` as its PLACEMENT_OPTIONS. */
export function openAppSlider(params: Record<string, unknown>, onClose: () => void): void {
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
