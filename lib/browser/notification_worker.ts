/**
 * The service worker behind the incoming-call notification's Answer and Decline buttons (only a
 * service worker's notifications can have buttons). It shows nothing itself: a click is passed
 * to the page that asked for the notification over a BroadcastChannel, and a window of the app
 * is brought forward. Bundled alone to static/build/notify_sw.js by client/notify_sw.ts.
 *
 * @module
 */

/** The channel a click travels on, from the worker to the pages. */
export const NOTIFY_CHANNEL = "phone-notification";

/** The bundle's URL (its scope is its folder; it controls no page). */
export const NOTIFY_WORKER_URL = "/static/build/notify_sw.js";

/** What a page puts in a notification's `data`. */
export interface CallNotificationData {
  /** The phone tab (`PhoneClient.tabId`) that showed it: only that page acts on a click. */
  tabId: string;
  callId: string;
}

/** A click on a call notification, as the page receives it. */
export interface NotificationClick extends CallNotificationData {
  /** A button (`answer`, `decline`) or the notification itself (`open`). */
  action: "answer" | "decline" | "open";
}

/** The part of a service worker's global scope the worker uses (a test passes a fake). */
export interface NotificationWorkerScope {
  addEventListener(
    type: "notificationclick",
    listener: (event: {
      action: string;
      notification: { data: unknown; close(): void };
      waitUntil(work: Promise<unknown>): void;
    }) => void,
  ): void;
  clients: {
    matchAll(options: { type: "window"; includeUncontrolled: boolean }): Promise<
      readonly { focus(): Promise<unknown> }[]
    >;
  };
}

/** Runs the worker in `scope`: every click goes to its page, and a window is focused. */
export function runNotificationWorker(
  scope: NotificationWorkerScope,
  channel: (name: string) => { postMessage(message: unknown): void } = (name) =>
    new BroadcastChannel(name),
): void {
  scope.addEventListener("notificationclick", (event) => {
    const data = event.notification.data as Partial<CallNotificationData> | null;
    event.notification.close();
    if (!data?.tabId || !data.callId) return;
    const action = event.action === "answer" || event.action === "decline" ? event.action : "open";
    const click: NotificationClick = { action, tabId: data.tabId, callId: data.callId };
    channel(NOTIFY_CHANNEL).postMessage(click);
    event.waitUntil(
      scope.clients.matchAll({ type: "window", includeUncontrolled: true })
        .then((windows) => windows[0]?.focus())
        .catch(() => {}),
    );
  });
}
