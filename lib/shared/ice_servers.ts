/**
 * STUN/TURN servers as the admin panel edits them: one per line, `turn:host:3478 user secret`.
 *
 * @module
 */
import type { IceServer } from "./api/widget.ts";

/** `turn:host:3478 user secret` lines → ICE servers (blank lines skipped). */
export function parseIceServers(text: string): IceServer[] {
  return text.split("\n").map((line) => line.trim().split(/\s+/)).filter((p) => p[0]).map((
    [urls, username, credential],
  ) => ({ urls, ...(username ? { username } : {}), ...(credential ? { credential } : {}) }));
}

/** ICE servers → lines for {@link parseIceServers} (the first URL of each). */
export function formatIceServers(servers: IceServer[]): string {
  return servers.map((s) =>
    [Array.isArray(s.urls) ? s.urls[0] : s.urls, s.username, s.credential].filter(Boolean).join(" ")
  ).join("\n");
}
