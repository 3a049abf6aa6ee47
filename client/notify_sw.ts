/**
 * Service worker entry: the incoming-call notification's Answer and Decline buttons.
 * Bundled alone to static/build/notify_sw.js.
 *
 * @module
 */
import {
  type NotificationWorkerScope,
  runNotificationWorker,
} from "../lib/browser/notification_worker.ts";

runNotificationWorker(globalThis as unknown as NotificationWorkerScope);
