/**
 * Names of one phone's browser-wide resources: its SharedWorker, its BroadcastChannel, its Web
 * Locks. They are shared by every page of a storage partition, and one partition may hold
 * several people's phones (pages of two sites that browsers see as one, such as portals under a
 * domain missing from the Public Suffix List, or two accounts of one site), so each phone's names
 * carry its **scope**: an opaque key of whose phone it is, built by {@link scopeKey} from
 * identities that never appear in a name themselves.
 *
 * @module
 */

/** The names of one phone (one engine) in the browser. */
export interface PhoneNames {
  /** The SharedWorker's name. */
  readonly worker: string;
  /** The fallback host's BroadcastChannel. */
  readonly bus: string;
  /** The Web Lock whose holder hosts the fallback engine. */
  readonly hostLock: string;
  /** The Web Lock a tab holds for its life (the host watches it). */
  tabLock(tabId: string): string;
}

/** The names of the phone `name` of `scope` (no scope: the name alone, one phone per name). */
export function phoneNames(name: string, scope = ""): PhoneNames {
  const base = scope ? `${name}-${scope}` : name;
  return {
    worker: `${base}-engine`,
    bus: `${base}-bus`,
    hostLock: `${base}-host`,
    tabLock: (tabId) => `${base}-tab-${tabId}`,
  };
}

/**
 * A scope for names: the first 128 bits of the SHA-256 of `parts`, in hex. The same parts give
 * the same key in every page; the key tells nothing of them.
 */
export async function scopeKey(...parts: (string | number)[]): Promise<string> {
  const data = new TextEncoder().encode(JSON.stringify(parts.map(String)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...digest.subarray(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
