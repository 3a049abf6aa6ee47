/**
 * Browser-wide claims: exactly one page of the origin and scope (whose phone: `scopeKey()` of
 * the portal and user, as the phone's names carry it) gets to act on a key (dial a
 * click-to-call, answer from the card); pages of another portal or user claim apart. Web Locks
 * where the page may use them; in a cross-site frame whose storage is blocked (Web Locks throw
 * `SecurityError` there, as SharedWorker does) a short BroadcastChannel election among the pages
 * that claim at the same moment.
 *
 * @module
 */

/** Releases a claim. */
export type Release = () => void;

const ELECTION_MS = 200;

/** Claims `key` in `scope`; resolves its release, or undefined when another page holds it. */
export async function claim(scope: string, key: string): Promise<Release | undefined> {
  try {
    return await claimWithLock(scope, key);
  } catch (err) {
    if ((err as Error).name !== "SecurityError" && typeof navigator.locks !== "undefined") {
      throw err;
    }
    return await claimByElection(scope, key);
  }
}

function claimWithLock(scope: string, key: string): Promise<Release | undefined> {
  if (typeof navigator.locks === "undefined") {
    return Promise.reject(new DOMException("no Web Locks", "SecurityError"));
  }
  return new Promise((resolve, reject) => {
    navigator.locks.request(`claim:${scope}:${key}`, { ifAvailable: true }, (lock) => {
      if (!lock) return resolve(undefined);
      return new Promise<void>((release) => resolve(() => release()));
    }).catch(reject);
  });
}

/**
 * Every claimant announces a random ticket; after a short window the lowest ticket wins and then
 * answers later claimants that the key is held. A message reaches only the channels open when it
 * is sent, so a claimant that hears a higher ticket answers with its own: a page that joins
 * the window late learns of the lower tickets announced before it opened its channel.
 */
async function claimByElection(scope: string, key: string): Promise<Release | undefined> {
  const channel = new BroadcastChannel(`b24-sip-claims-${scope}`);
  const ticket = Math.random();
  let lowest = ticket;
  let held = false;
  channel.onmessage = (e: MessageEvent<{ key: string; type: string; ticket?: number }>) => {
    if (e.data.key !== key) return;
    if (e.data.type === "held") held = true;
    if (typeof e.data.ticket !== "number") return;
    lowest = Math.min(lowest, e.data.ticket);
    if (e.data.type === "claim" && e.data.ticket > ticket) {
      channel.postMessage({ key, type: "ticket", ticket });
    }
  };
  channel.postMessage({ key, type: "claim", ticket });
  await new Promise((r) => setTimeout(r, ELECTION_MS));
  if (held || lowest !== ticket) {
    channel.close();
    return undefined;
  }
  channel.onmessage = (e: MessageEvent<{ key: string; type: string }>) => {
    if (e.data.key === key && e.data.type === "claim") channel.postMessage({ key, type: "held" });
  };
  return () => channel.close();
}
