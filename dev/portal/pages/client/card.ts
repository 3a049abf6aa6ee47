/**
 * The call card (CORE `BX.Voximplant.PhoneCallView` as the PAGE_BACKGROUND_WORKER sees it):
 * the emulator shows the calls the app registered (`telephony.externalcall.show`), one card at a
 * time; its UI state, mute, hold, title, status text and timer are set by the worker's commands,
 * and its buttons emit the `BackgroundCallCard::…` events.
 *
 * @module
 */
import type { CallsSnapshot, CardCall } from "../calls.ts";
import { post } from "./api.ts";
import { emit, initializedPayload } from "./events.ts";
import { record } from "./log.ts";
import { byTestId, cfg, t } from "./page.ts";

/** The open card's state. */
export interface Card {
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

let card: Card | null = null;
let snapshot: CallsSnapshot = { shown: [], finished: [] };
const closedLocally = new Set<string>();

/** The open card, if any. */
export function currentCard(): Card | null {
  return card;
}

/** Shows the emulator's latest list of shown and finished calls. */
export function showCalls(next: CallsSnapshot): void {
  snapshot = next;
  syncCards();
}

/** Emits a card event about the open card. */
function emitCard(name: string, params?: unknown): void {
  emit(name, params, card?.call.CALL_ID);
}

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

/** Starts the card's talk timer (from its first start). */
export function startTimer(c: Card): void {
  if (c.timerInterval !== null) return;
  if (c.initialTimestamp === 0) c.initialTimestamp = Date.now();
  c.timerInterval = setInterval(() => renderTimer(c), 1000);
  renderTimer(c);
}

/** Stops the talk timer; it keeps showing the time reached. */
export function stopTimer(c: Card): void {
  if (c.timerInterval === null) return;
  clearInterval(c.timerInterval);
  c.timerInterval = null;
  renderTimer(c);
}

/** Hides the timer and forgets its start. */
export function hideTimer(c: Card): void {
  c.timerShown = false;
  c.initialTimestamp = 0;
}

function setText(id: string, text: string): void {
  const el = byTestId(id);
  if (el) el.textContent = text;
}

/** Shows the open card (or hides the card element when none is open). */
export function renderCard(): void {
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
  root.dataset.timer = !c.timerShown ? "hidden" : c.timerInterval !== null ? "running" : "stopped";
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
    emitCard("entityChanged", {
      CRM_ENTITY_TYPE: call.CRM_ENTITY_TYPE,
      CRM_ENTITY_ID: call.CRM_ENTITY_ID,
      PHONE_NUMBER: call.PHONE_NUMBER,
    });
  }
  emitCard("initialized", initializedPayload(call));
}

/** Closes the open card locally (it stays closed while the call is still shown). */
export function closeCard(reason: string): void {
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
      return emitCard("answerButtonClick");
    case "skip":
      return emitCard("skipButtonClick");
    case "hangup":
      return emitCard("hangupButtonClick");
    case "makeCall":
    case "redial":
      return emitCard("makeCallButtonClick");
    case "notifyAdmin":
      return emitCard("notifyAdminButtonClick");
    case "transferComplete":
      return emitCard("completeTransferButtonClick");
    case "transferCancel":
      return emitCard("cancelTransferButtonClick");
    case "close":
      emitCard("closeButtonClick");
      return closeCard("close button");
    case "mute":
      c.muted = !c.muted;
      renderCard();
      return emitCard("muteButtonClick", c.muted);
    case "hold":
      c.held = !c.held;
      renderCard();
      return emitCard("holdButtonClick", c.held);
    case "dialpad":
    case "transfer":
    case "quality":
      c.panel = c.panel === name ? "" : name;
      return renderCard();
    case "key":
      return emitCard("dialpadButtonClick", value);
    case "star":
      c.panel = "";
      renderCard();
      return emitCard("qualityMeterClick", value);
    case "transferTo": {
      c.panel = "";
      renderCard();
      const target = value && /^\d+$/.test(value) && !hasPhones(Number(value))
        ? Number(value)
        : value;
      return emitCard("transferButtonClick", { phoneNumber: c.call.PHONE_NUMBER, target });
    }
    case "comment": {
      c.commentShown = !c.commentShown;
      renderCard();
      const input = byTestId("call-card-comment-input") as HTMLTextAreaElement | null;
      if (c.commentShown) {
        input?.focus();
        return;
      }
      return emitCard("addCommentButtonClick", input?.value ?? "");
    }
  }
}

function hasPhones(userId: number): boolean {
  return (cfg.users.find((u) => u.id === userId)?.phones.length ?? 0) > 0;
}

/** Handles the card's buttons and its transfer form. */
export function listenToCard(): void {
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
}
