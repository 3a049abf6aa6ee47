/**
 * The one notification of a changed portal row. Whoever writes a portal's tokens, credentials,
 * settings or installation state says so once (`changed`); every cache holding something read
 * from that row (REST clients, verified frame and event tokens, cached rows) listens
 * (`onChange`) and drops what it holds. A cache elsewhere in the cluster is not told: each one
 * keeps its own short TTL for that.
 *
 * @module
 */

/** Which portal changed, and whether the app was removed from it. */
export interface PortalChange {
  portalId: string;
  memberId: string;
  /** The app was uninstalled: answers cached for the old installation must not outlive it. */
  uninstalled?: boolean;
}

/** A listener of portal changes. */
export type PortalChangeListener = (change: PortalChange) => void;

/** Fans a portal change out to the caches that registered for it. */
export class PortalChanges {
  private readonly listeners = new Set<PortalChangeListener>();

  /** Tells every listener that the portal's row changed. */
  changed(portal: { id: string; memberId: string }, options: { uninstalled?: boolean } = {}) {
    const change: PortalChange = { portalId: portal.id, memberId: portal.memberId, ...options };
    for (const listener of this.listeners) listener(change);
  }

  /** Registers `listener`; returns the function that removes it. */
  onChange(listener: PortalChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
