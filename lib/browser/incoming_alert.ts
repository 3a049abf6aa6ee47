/**
 * Tells the user about an incoming call while the phone's tab is hidden: the tab's title
 * alternates with "Call from …", and a browser notification (when the user allowed them)
 * brings the tab forward when clicked. Both go away once the call is no longer ringing or the
 * tab is shown.
 *
 * Notification buttons (Answer / Decline) exist only for notifications shown by a service
 * worker; the app has none, so a click on the notification opens the phone, where Enter answers
 * and Esc declines.
 *
 * @module
 */
import type { CallInfo } from "./phone/types.ts";

/** The page's parts the alert touches (a test passes fakes). */
export interface AlertHost {
  hidden(): boolean;
  title: { get(): string; set(title: string): void };
  /** Shows a notification (undefined when not allowed); `onClick` brings the phone forward. */
  notify(
    title: string,
    body: string,
    tag: string,
    onClick: () => void,
  ): { close(): void } | undefined;
  focus(): void;
  setInterval(fn: () => void, ms: number): number;
  clearInterval(id: number): void;
}

/** The browser's own host: `document`, `Notification`, `window.focus()`. */
export function browserAlertHost(): AlertHost {
  return {
    hidden: () => document.hidden,
    title: { get: () => document.title, set: (title) => document.title = title },
    notify(title, body, tag, onClick) {
      if (typeof Notification !== "function" || Notification.permission !== "granted") {
        return undefined;
      }
      const n = new Notification(title, { body, tag, requireInteraction: true });
      n.onclick = () => {
        onClick();
        n.close();
      };
      return n;
    },
    focus: () => globalThis.focus(),
    setInterval: (fn, ms) => setInterval(fn, ms) as unknown as number,
    clearInterval: (id) => clearInterval(id),
  };
}

/** Watches the calls (call {@link update} with every snapshot and on `visibilitychange`). */
export class IncomingAlert {
  readonly #host: AlertHost;
  readonly #text: (call: CallInfo) => string;
  readonly #shown = new Map<string, { close(): void }>();
  #blink?: number;
  #baseTitle = "";

  /** `text` is "Call from …" for one call, in the page's language. */
  constructor(host: AlertHost, text: (call: CallInfo) => string) {
    this.#host = host;
    this.#text = text;
  }

  update(calls: readonly CallInfo[]): void {
    const ringing = calls.filter((c) => c.state === "incoming");
    const hidden = this.#host.hidden();
    for (const [id, n] of this.#shown) {
      if (!ringing.some((c) => c.id === id) || !hidden) {
        n.close();
        this.#shown.delete(id);
      }
    }
    if (hidden) {
      for (const call of ringing) {
        if (this.#shown.has(call.id)) continue;
        const n = this.#host.notify(
          this.#text(call),
          call.number,
          call.id,
          () => this.#host.focus(),
        );
        if (n) this.#shown.set(call.id, n);
      }
    }
    if (hidden && ringing.length) this.#startBlink(this.#text(ringing[0]));
    else this.#stopBlink();
  }

  #startBlink(text: string): void {
    if (this.#blink !== undefined) return;
    this.#baseTitle = this.#host.title.get();
    let on = false;
    const flip = () => {
      on = !on;
      this.#host.title.set(on ? `☎ ${text}` : this.#baseTitle);
    };
    flip();
    this.#blink = this.#host.setInterval(flip, 1000);
  }

  #stopBlink(): void {
    if (this.#blink === undefined) return;
    this.#host.clearInterval(this.#blink);
    this.#blink = undefined;
    this.#host.title.set(this.#baseTitle);
  }
}
