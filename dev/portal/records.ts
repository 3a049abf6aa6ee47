/**
 * Everything the emulated portal received or sent, for tests to assert on. Secrets (access
 * tokens, client secrets, refresh tokens) are never recorded.
 *
 * @module
 */
import { normalizeMethod } from "./faults.ts";

/** One REST method call (top-level or inside a batch). */
export interface CallRecord {
  /** Lower-case method name, e.g. `telephony.externalcall.register`. */
  method: string;
  /** Parameters as received, without `auth`/`access_token`. */
  params: Record<string, unknown>;
  /** The token's user, when the token was valid. */
  userId: number | null;
  /** Clock time in ms. */
  at: number;
  /** HTTP status the call produced (sub-calls of a batch: the status they would have had). */
  status: number;
  /** Error code when the call failed. */
  error?: string;
  /** Key of the batch command this call ran as. */
  batchKey?: string;
}

/** One event POST the portal made to an app. */
export interface EventRecord {
  event: string;
  url: string;
  /** The decoded form body as sent, tokens included (tests compare them). */
  body: Record<string, unknown>;
  at: number;
  /** HTTP status of the app's answer; null when the request failed. */
  status: number | null;
  /** Network error text when the request failed. */
  error?: string;
}

/** One request to the OAuth token endpoint. */
export interface OAuthRecord {
  grantType: string;
  clientId: string;
  at: number;
  status: number;
  error?: string;
}

/** The portal's log of received calls and sent events. */
export class Records {
  readonly #calls: CallRecord[] = [];
  readonly #events: EventRecord[] = [];
  readonly #oauth: OAuthRecord[] = [];

  /** REST calls, optionally only those of one method (case-insensitive, `.json` optional). */
  calls(method?: string): CallRecord[] {
    const m = method === undefined ? undefined : normalizeMethod(method);
    return this.#calls.filter((c) => m === undefined || c.method === m);
  }

  /** Event deliveries, optionally only those of one event (case-insensitive). */
  events(event?: string): EventRecord[] {
    const e = event?.toUpperCase();
    return this.#events.filter((r) => e === undefined || r.event === e);
  }

  /** Token endpoint requests. */
  oauth(): OAuthRecord[] {
    return [...this.#oauth];
  }

  /** Forgets everything recorded so far. */
  clear(): void {
    this.#calls.length = 0;
    this.#events.length = 0;
    this.#oauth.length = 0;
  }

  /** @internal */
  addCall(record: CallRecord): void {
    this.#calls.push(record);
  }

  /** @internal */
  addEvent(record: EventRecord): void {
    this.#events.push(record);
  }

  /** @internal */
  addOAuth(record: OAuthRecord): void {
    this.#oauth.push(record);
  }
}
