/**
 * Tells the user about an incoming call while the phone's tab is hidden: the tab's title
 * alternates with "Call from …", and a browser notification (when the user allowed them)
 * brings the tab forward when clicked. Both go away once the call is no longer ringing or the
 * tab is shown.
 *
 * Buttons (Answer, Decline) exist only on notifications a service worker shows: the page shows
 * it through `notify_sw.js`'s registration, and a click comes back over a BroadcastChannel to
 * the page that showed it (see `notification_worker.ts`). Without a service worker a plain
 * notification brings the phone forward, where Enter answers and Esc declines.
 *
 * @module
 */
import type { CallInfo } from "./phone/types.ts";
import {
  type CallNotificationData,
  type NotificationClick,
  NOTIFY_CHANNEL,
  NOTIFY_WORKER_URL,
} from "./notification_worker.ts";

/** The page's parts the alert touches (a test passes fakes). */
export interface AlertHost {
  hidden(): boolean;
  title: { get(): string; set(title: string): void };
  /** Shows a notification (undefined when not allowed); `onClick` brings the phone forward. */
  notify(
    title: string,
    body: string,
    data: CallNotificationData,
    onClick: () => void,
  ): { close(): void } | undefined;
  focus(): void;
  setInterval(fn: () => void, ms: number): number;
  clearInterval(id: number): void;
}

/** The labels of the notification's buttons, in the page's language. */
export interface AlertLabels {
  answer: string;
  decline: string;
}

/**
 * The browser's own host: `document`, notifications through the service worker (with buttons)
 * or plain ones, `window.focus()`.
 */
export function browserAlertHost(labels: AlertLabels): AlertHost {
  let worker: Promise<ServiceWorkerRegistration | undefined> | undefined;
  const registration = () => worker ??= activeRegistration();
  return {
    hidden: () => document.hidden,
    title: { get: () => document.title, set: (title) => document.title = title },
    notify(title, body, data, onClick) {
      if (typeof Notification !== "function" || Notification.permission !== "granted") {
        return undefined;
      }
      let closed = false;
      let plain: Notification | undefined;
      const options = { body, tag: data.callId, requireInteraction: true, data };
      registration().then(async (reg) => {
        if (closed) return;
        if (reg) {
          const actions = [
            { action: "answer", title: labels.answer },
            { action: "decline", title: labels.decline },
          ];
          await reg.showNotification(title, { ...options, actions } as NotificationOptions);
          return;
        }
        plain = new Notification(title, options);
        plain.onclick = () => {
          onClick();
          plain?.close();
        };
      }).catch(() => {});
      return {
        close() {
          closed = true;
          plain?.close();
          registration()
            .then((reg) => reg?.getNotifications({ tag: data.callId }))
            .then((shown) => shown?.forEach((n) => n.close()))
            .catch(() => {});
        },
      };
    },
    focus: () => globalThis.focus(),
    setInterval: (fn, ms) => setInterval(fn, ms) as unknown as number,
    clearInterval: (id) => clearInterval(id),
  };
}

/**
 * The notification worker's registration once it is active, or undefined where service workers
 * are unavailable (a browser without them, a frame whose storage is blocked).
 */
async function activeRegistration(): Promise<ServiceWorkerRegistration | undefined> {
  if (!("serviceWorker" in navigator)) return undefined;
  try {
    const reg = await navigator.serviceWorker.register(NOTIFY_WORKER_URL);
    const pending = reg.installing ?? reg.waiting;
    if (!reg.active && pending) {
      await new Promise<void>((resolve, reject) => {
        pending.addEventListener("statechange", () => {
          if (pending.state === "activated") resolve();
          if (pending.state === "redundant") reject(new Error("notification worker redundant"));
        });
      });
    }
    return reg;
  } catch {
    return undefined;
  }
}

/**
 * Calls `onClick` for clicks on the notifications this page (`tabId`) showed; returns the
 * function that stops listening.
 */
export function listenNotificationClicks(
  tabId: string,
  onClick: (click: NotificationClick) => void,
): () => void {
  if (typeof BroadcastChannel !== "function") return () => {};
  const channel = new BroadcastChannel(NOTIFY_CHANNEL);
  channel.onmessage = (e: MessageEvent<NotificationClick>) => {
    if (e.data?.tabId === tabId) onClick(e.data);
  };
  return () => channel.close();
}

/** Watches the calls (call {@link update} with every snapshot and on `visibilitychange`). */
export class IncomingAlert {
  readonly #host: AlertHost;
  readonly #tabId: string;
  readonly #text: (call: CallInfo) => string;
  readonly #shown = new Map<string, { close(): void }>();
  #blink?: number;
  #baseTitle = "";

  /** `tabId` is this page's phone tab; `text` is "Call from …" for one call, in its language. */
  constructor(host: AlertHost, tabId: string, text: (call: CallInfo) => string) {
    this.#host = host;
    this.#tabId = tabId;
    this.#text = text;
  }

  update(calls: readonly CallInfo[]): void {
    const ringing = calls.filter((c) => c.state === "incoming");
    const hidden = this.#host.hidden();
    for (const [id, n] of this.#shown) {
      if (!ringing.some((c) => c.id === id) || !hidden) {
        n.close();
        this.#shown.delete(id);
      }
    }
    if (hidden) {
      for (const call of ringing) {
        if (this.#shown.has(call.id)) continue;
        const n = this.#host.notify(
          this.#text(call),
          call.number,
          { tabId: this.#tabId, callId: call.id },
          () => this.#host.focus(),
        );
        if (n) this.#shown.set(call.id, n);
      }
    }
    if (hidden && ringing.length) this.#startBlink(this.#text(ringing[0]));
    else this.#stopBlink();
  }

  #startBlink(text: string): void {
    if (this.#blink !== undefined) return;
    this.#baseTitle = this.#host.title.get();
    let on = false;
    const flip = () => {
      on = !on;
      this.#host.title.set(on ? `☎ ${text}` : this.#baseTitle);
    };
    flip();
    this.#blink = this.#host.setInterval(flip, 1000);
  }

  #stopBlink(): void {
    if (this.#blink === undefined) return;
    this.#host.clearInterval(this.#blink);
    this.#blink = undefined;
    this.#host.title.set(this.#baseTitle);
  }
}
