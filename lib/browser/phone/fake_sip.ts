/**
 * Fakes of SIP.js's UserAgent and Registerer for unit tests, built through the engine's
 * factories ({@link UserAgentFactory}, {@link RegistererFactory}): the test opens and drops the
 * WebSocket and answers each REGISTER.
 *
 * @module
 */
import type { UserAgent, UserAgentDelegate, UserAgentOptions } from "sip.js";
import { RegistererState } from "sip.js";
import type { RegistererFactory, RegistererLike, UserAgentFactory } from "./sip_connection.ts";
import type { PhoneAccount } from "./types.ts";

/** An account for tests (nothing listens at its address). */
export const ACCOUNT: PhoneAccount = {
  wsUrl: "ws://127.0.0.1:1/ws",
  sipUri: "sip:101@example.test",
  authUser: "101",
  password: "secret",
};

/** Lets promise callbacks run. */
export const settle = (): Promise<unknown> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A UserAgent whose WebSocket the test controls: `up` (shared by every UserAgent of a test)
 * says whether the next start or reconnect connects; `drop()` loses the connection.
 */
export class FakeUserAgent {
  starts = 0;
  reconnects = 0;
  readonly delegate: UserAgentDelegate;
  readonly #network: { up: boolean };
  constructor(options: UserAgentOptions, network: { up: boolean }) {
    this.delegate = options.delegate!;
    this.#network = network;
  }
  get up(): boolean {
    return this.#network.up;
  }
  set up(up: boolean) {
    this.#network.up = up;
  }
  start(): Promise<void> {
    this.starts++;
    return this.#connect();
  }
  reconnect(): Promise<void> {
    this.reconnects++;
    return this.#connect();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  drop(): void {
    this.delegate.onDisconnect?.(new Error("connection lost"));
  }
  async #connect(): Promise<void> {
    await null; // SIP.js connects asynchronously
    if (!this.up) throw new Error("connection refused");
    this.delegate.onConnect?.();
  }
}

/** A Registerer that records REGISTERs; the test answers them with `answer(status)`. */
export class FakeRegisterer {
  state = RegistererState.Initial;
  registers = 0;
  #listeners: ((s: RegistererState) => void)[] = [];
  #pending?: NonNullable<Parameters<RegistererLike["register"]>[0]>["requestDelegate"];
  stateChange = { addListener: (l: (s: RegistererState) => void) => this.#listeners.push(l) };
  register(options?: Parameters<RegistererLike["register"]>[0]) {
    this.registers++;
    this.#pending = options?.requestDelegate;
    return Promise.resolve();
  }
  unregister() {
    return Promise.resolve();
  }
  answer(status: number): void {
    const response = { message: { statusCode: status, reasonPhrase: "Reason" } };
    if (status === 200) {
      this.state = RegistererState.Registered;
      for (const l of this.#listeners) l(this.state);
      this.#pending?.onAccept?.(response as never);
    } else this.#pending?.onReject?.(response as never);
  }
}

/**
 * Factories that build fakes, and every fake they built (in order); `network.up` says whether
 * WebSockets connect.
 */
export function fakeSip(network = { up: false }): {
  network: { up: boolean };
  agents: FakeUserAgent[];
  registerers: FakeRegisterer[];
  createUserAgent: UserAgentFactory;
  createRegisterer: RegistererFactory;
} {
  const agents: FakeUserAgent[] = [];
  const registerers: FakeRegisterer[] = [];
  return {
    network,
    agents,
    registerers,
    createUserAgent: (options) => {
      const ua = new FakeUserAgent(options, network);
      agents.push(ua);
      return ua as unknown as UserAgent;
    },
    createRegisterer: () => {
      const r = new FakeRegisterer();
      registerers.push(r);
      return r as unknown as RegistererLike;
    },
  };
}
