import { assertEquals } from "../../tests/support/assert.ts";
import {
  type NotificationWorkerScope,
  NOTIFY_CHANNEL,
  runNotificationWorker,
} from "./notification_worker.ts";

function fakeScope() {
  type Listener = Parameters<NotificationWorkerScope["addEventListener"]>[1];
  const state = {
    listener: undefined as Listener | undefined,
    focused: 0,
    waits: [] as Promise<unknown>[],
  };
  const scope: NotificationWorkerScope = {
    addEventListener: (_type, listener) => state.listener = listener,
    clients: {
      matchAll: () => Promise.resolve([{ focus: () => Promise.resolve(state.focused++) }]),
    },
  };
  const posted: [string, unknown][] = [];
  runNotificationWorker(scope, (name) => ({ postMessage: (m) => posted.push([name, m]) }));
  const click = (action: string, data: unknown) => {
    let closed = false;
    state.listener!({
      action,
      notification: { data, close: () => closed = true },
      waitUntil: (work) => state.waits.push(work),
    });
    return () => closed;
  };
  return { state, posted, click };
}

Deno.test("[notification_worker] Answer and Decline go to the page that showed the call", async () => {
  const { state, posted, click } = fakeScope();
  const closed = click("answer", { tabId: "tab-1", callId: "c1" });
  click("decline", { tabId: "tab-1", callId: "c2" });
  click("", { tabId: "tab-1", callId: "c3" });
  await Promise.all(state.waits);
  assertEquals(posted, [
    [NOTIFY_CHANNEL, { action: "answer", tabId: "tab-1", callId: "c1" }],
    [NOTIFY_CHANNEL, { action: "decline", tabId: "tab-1", callId: "c2" }],
    [NOTIFY_CHANNEL, { action: "open", tabId: "tab-1", callId: "c3" }],
  ]);
  assertEquals(closed(), true);
  assertEquals(state.focused, 3);
});

Deno.test("[notification_worker] a notification without call data is only closed", () => {
  const { posted, click } = fakeScope();
  const closed = click("answer", null);
  assertEquals(posted, []);
  assertEquals(closed(), true);
});
