/**
 * SharedWorker entry: the phone engine shared by every tab of the origin.
 * Bundled alone to static/build/sip_worker.js.
 *
 * @module
 */
import { runWorkerHost, type SharedWorkerScopeLike } from "../lib/browser/phone/worker_host.ts";

runWorkerHost(globalThis as unknown as SharedWorkerScopeLike);
