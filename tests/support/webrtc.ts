/**
 * Audio checks on pages the test does not control (the app's frames in the portal emulator):
 * an init script records every RTCPeerConnection, and the test reads their stats.
 *
 * @module
 */
import type { Frame } from "playwright-core";

/** An init script (`context.addInitScript`) that collects every RTCPeerConnection of a frame. */
export function recordPeerConnections() {
  const w = globalThis as unknown as { __pcs: RTCPeerConnection[] };
  w.__pcs = [];
  const Original = RTCPeerConnection;
  globalThis.RTCPeerConnection = class extends Original {
    constructor(config?: RTCConfiguration) {
      super(config);
      w.__pcs.push(this);
    }
  } as typeof RTCPeerConnection;
}

/** Inbound audio bytes over the frame's live peer connections. */
export function inboundBytes(frame: Frame): Promise<number> {
  return frame.evaluate(async () => {
    let total = 0;
    for (const pc of (globalThis as unknown as { __pcs?: RTCPeerConnection[] }).__pcs ?? []) {
      if (pc.connectionState === "closed") continue;
      (await pc.getStats()).forEach((r) => {
        if (r.type === "inbound-rtp" && r.kind === "audio") total += r.bytesReceived;
      });
    }
    return total;
  });
}
