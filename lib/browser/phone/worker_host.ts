/**
 * Runs the engine inside a SharedWorker: every tab of the phone's scope connects a MessagePort
 * (the worker's name carries the scope, `names.ts`); the engine learns of a tab's death through
 * its Web Lock (or missing heartbeats). The engine serves the scope of the first tab's hello and
 * refuses ports of another one.
 *
 * @module
 */
import { PhoneEngine } from "./engine.ts";
import { HeartbeatWatch, watchTabLock } from "./liveness.ts";
import type { ClientMessage, HostMessage } from "./protocol.ts";

/** The bits of `SharedWorkerGlobalScope` the host needs (not in Deno's DOM types). */
export interface SharedWorkerScopeLike {
  onconnect: ((event: MessageEvent) => void) | null;
}

/** Starts the engine and accepts tab connections on `scope`. */
export function runWorkerHost(scope: SharedWorkerScopeLike): PhoneEngine {
  const engine = new PhoneEngine({ host: "worker" });
  const heartbeats = new HeartbeatWatch((tabId) => engine.detachTab(tabId, "heartbeat lost"));
  scope.onconnect = (event: MessageEvent) => {
    const port = event.ports[0];
    let tabId: string | undefined;
    port.onmessage = (m: MessageEvent<ClientMessage>) => {
      const message = m.data;
      if (message.t === "hello") {
        if (tabId) return;
        const id = message.tabId;
        const link = { id, send: (msg: HostMessage) => port.postMessage(msg) };
        if (!engine.attachTab(link, message)) return; // another scope: the port stays unheard
        tabId = id;
        const locked = message.lockName &&
          watchTabLock(message.lockName, () => engine.detachTab(id, "lock released"));
        if (!locked) heartbeats.beat(id);
        return;
      }
      if (!tabId) return;
      if (!engine.hasTab(tabId)) {
        // Declared dead earlier (heartbeats of a throttled tab): let it come back.
        if (message.t !== "bye") port.postMessage({ t: "rehello" } satisfies HostMessage);
        tabId = undefined;
        return;
      }
      if (message.t === "heartbeat") heartbeats.beat(tabId, message.hidden);
      if (message.t === "bye") heartbeats.forget(tabId);
      engine.handle(tabId, message);
    };
    port.start();
  };
  return engine;
}
