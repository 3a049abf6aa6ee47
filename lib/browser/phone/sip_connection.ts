/**
 * Registration and the connection to the SIP server: one SIP.js `UserAgent` and `Registerer`
 * per account, digest auth, reconnect with backoff, re-REGISTER after a reconnect. The
 * connection follows the machine drawn in `connection_state.ts`, registration the one in
 * `registration_state.ts`. Every UserAgent gets a generation; callbacks of an older one (torn
 * down for a new account) are ignored.
 *
 * @module
 */
import {
  type Invitation,
  Registerer,
  type RegistererOptions,
  RegistererState,
  SIPExtension,
  UserAgent,
  type UserAgentOptions,
} from "sip.js";
import type { Clock, TimerId } from "./clock.ts";
import { CONNECTION_EDGES, ConnectionPhase, publicConnectionState } from "./connection_state.ts";
import {
  REGISTRATION_EDGES,
  type RegistrationError,
  type RegistrationErrorCode,
  RegistrationState,
} from "./registration_state.ts";
import { StateMachine } from "./state_machine.ts";
import {
  type ConnectionState,
  type Log,
  type PhoneAccount,
  PhoneError,
  type PhoneSnapshot,
  type RegisterOptions,
} from "./types.ts";

/** Builds the UserAgent of an account (SIP.js's own by default; tests pass a fake). */
export type UserAgentFactory = (options: UserAgentOptions) => UserAgent;

/** The part of SIP.js's `Registerer` the connection uses. */
export type RegistererLike = Pick<Registerer, "state" | "stateChange" | "register" | "unregister">;

/** Builds the Registerer of a UserAgent (SIP.js's own by default; tests pass a fake). */
export type RegistererFactory = (
  userAgent: UserAgent,
  options: RegistererOptions,
) => RegistererLike;

/** What the connection tells the rest of the engine. */
export interface SipConnectionDelegate {
  /** A new incoming INVITE. */
  onInvite(invitation: Invitation): void;
  /** The WebSocket came back after a loss: calls may need an ICE restart. */
  onReconnected(): void;
  /** Registration or connection changed (a snapshot is due). */
  onChange(): void;
  /** Ends every call before the UserAgent goes (unregister, new account, shutdown). */
  endCalls(): Promise<void>;
}

/** Options of {@link SipConnection}. */
export interface SipConnectionOptions {
  clock: Clock;
  /** Jitter source for the backoff, in [0, 1). */
  random: () => number;
  log: Log;
  createUserAgent: UserAgentFactory;
  createRegisterer: RegistererFactory;
  /** SDP work of every session (the engine proxies it to the media tab). */
  sessionDescriptionHandlerFactory: UserAgentOptions["sessionDescriptionHandlerFactory"];
  delegate: SipConnectionDelegate;
}

/** Engine tuning when `register()` leaves it out. */
export const REGISTER_DEFAULTS: Required<RegisterOptions> = {
  expiresSec: 300,
  iceGatheringTimeoutMs: 500,
  reconnectMinDelayMs: 500,
  reconnectMaxDelayMs: 30_000,
  mediaTimeoutMs: 60_000,
};

/** How long an unREGISTER may hold up a teardown, ms. */
const UNREGISTER_WAIT_MS = 1500;
/** Delay before a REGISTER that could not be sent is tried again, ms. */
const REGISTER_RESEND_MS = 1000;

/**
 * The delay before reconnect attempt `attempt` (0 = the first): `minMs` doubled per attempt,
 * capped at `maxMs`, with ±20 % jitter (`random` in [0, 1)).
 */
export function reconnectDelay(
  attempt: number,
  minMs: number,
  maxMs: number,
  random: () => number,
): number {
  const base = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(base * (0.8 + random() * 0.4));
}

/** True when both accounts would register the same contact the same way. */
export function sameAccount(a: PhoneAccount, b: PhoneAccount): boolean {
  return a.wsUrl === b.wsUrl && a.sipUri === b.sipUri && a.authUser === b.authUser &&
    a.password === b.password && (a.displayName ?? "") === (b.displayName ?? "") &&
    JSON.stringify(a.iceServers ?? []) === JSON.stringify(b.iceServers ?? []);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The SIP account's UserAgent, its registration and its connection. */
export class SipConnection {
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #log: Log;
  readonly #createUserAgent: UserAgentFactory;
  readonly #createRegisterer: RegistererFactory;
  readonly #sdhFactory: SipConnectionOptions["sessionDescriptionHandlerFactory"];
  readonly #delegate: SipConnectionDelegate;
  readonly #reg = new StateMachine<RegistrationState>(
    "registration",
    RegistrationState.Unregistered,
    REGISTRATION_EDGES,
  );
  readonly #phase = new StateMachine<ConnectionPhase>(
    "connection",
    ConnectionPhase.Idle,
    CONNECTION_EDGES,
  );
  #regError?: RegistrationError;
  #account?: PhoneAccount;
  #options: Required<RegisterOptions> = { ...REGISTER_DEFAULTS };
  #ua?: UserAgent;
  #registerer?: RegistererLike;
  #registering?: Promise<void>;
  #reconnectTimer?: TimerId;
  #reconnectAttempt = 0;
  #retryAt?: number;
  #generation = 0;

  constructor(options: SipConnectionOptions) {
    this.#clock = options.clock;
    this.#random = options.random;
    this.#log = options.log;
    this.#createUserAgent = options.createUserAgent;
    this.#createRegisterer = options.createRegisterer;
    this.#sdhFactory = options.sessionDescriptionHandlerFactory;
    this.#delegate = options.delegate;
    this.#reg.stateChange.addListener(({ from, to }) => {
      this.#log("info", `registration ${from} -> ${to}`, this.#regError);
      this.#delegate.onChange();
    });
    this.#phase.stateChange.addListener(() => this.#delegate.onChange());
  }

  /** The registered account, if any. */
  get account(): PhoneAccount | undefined {
    return this.#account;
  }

  /** The tuning of the current registration. */
  get options(): Required<RegisterOptions> {
    return this.#options;
  }

  /** The connection's state (see `connection_state.ts`). */
  get phase(): ConnectionPhase {
    return this.#phase.state;
  }

  /** The connection as pages see it. */
  get connection(): ConnectionState {
    return publicConnectionState(this.#phase.state);
  }

  /** The registration part of a snapshot. */
  get registration(): PhoneSnapshot["registration"] {
    return {
      state: this.#reg.state,
      error: this.#regError,
      sipUri: this.#account?.sipUri,
      retryAt: this.#retryAt,
    };
  }

  /** The UserAgent to place calls with; throws `not-registered` while not connected. */
  requireUserAgent(): UserAgent {
    if (!this.#ua || !this.#account) throw new PhoneError("not-registered", "no SIP account");
    if (this.#phase.state !== ConnectionPhase.Connected) {
      throw new PhoneError("not-registered", "not connected to the SIP server");
    }
    return this.#ua;
  }

  /**
   * Registers `account` (or keeps the current registration when the same account is already
   * registered). Resolves when registered; rejects with a {@link PhoneError} when it fails.
   */
  async register(account: PhoneAccount, options: RegisterOptions = {}): Promise<void> {
    const uri = UserAgent.makeURI(account.sipUri);
    if (!uri || !/^wss?:\/\/./.test(account.wsUrl) || !account.authUser) {
      throw new PhoneError("invalid-account", "invalid SIP URI, WebSocket URL or auth user");
    }
    const same = this.#account && sameAccount(this.#account, account);
    if (same && this.#reg.state === RegistrationState.Registered) return;
    if (same && this.#reg.state === RegistrationState.Registering) {
      await this.#registrationOutcome();
      return;
    }
    if (this.#ua) await this.teardown();
    this.#account = { ...account, iceServers: account.iceServers ?? [] };
    this.#options = { ...REGISTER_DEFAULTS, ...stripUndefined(options) };
    this.#regError = undefined;
    this.#reg.transition(RegistrationState.Registering);
    const outcome = this.#registrationOutcome();
    this.#startUserAgent(uri);
    await outcome;
  }

  /** Unregisters, ends every call and stops the UserAgent; forgets the account. */
  async unregister(): Promise<void> {
    await this.teardown();
    this.#account = undefined;
    this.#regError = undefined;
    this.#reg.tryTransition(RegistrationState.Unregistered);
    this.#delegate.onChange();
  }

  /** Ends every call, unregisters (briefly waited for) and stops the UserAgent. */
  async teardown(): Promise<void> {
    this.#generation++;
    // The UserAgent is let go at once, so that a register() meanwhile starts a fresh one.
    this.#phase.transition(ConnectionPhase.Idle);
    this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    this.#reconnectAttempt = 0;
    this.#retryAt = undefined;
    const ua = this.#ua;
    const registerer = this.#registerer;
    this.#ua = undefined;
    this.#registerer = undefined;
    this.#registering = undefined;
    await this.#delegate.endCalls();
    if (registerer && registerer.state === RegistererState.Registered) {
      let wait: TimerId | undefined;
      await Promise.race([
        registerer.unregister().catch(() => {}),
        new Promise((r) => wait = this.#clock.setTimeout(() => r(undefined), UNREGISTER_WAIT_MS)),
      ]);
      this.#clock.clearTimeout(wait);
    }
    if (ua) await ua.stop().catch(() => {});
    this.#delegate.onChange();
  }

  #registrationOutcome(): Promise<void> {
    return new Promise((resolve, reject) => {
      const off = this.#reg.stateChange.addListener(({ to }) => {
        if (to === RegistrationState.Registered) {
          off();
          resolve();
        } else if (to === RegistrationState.Failed || to === RegistrationState.Unregistered) {
          off();
          const e = this.#regError;
          reject(
            new PhoneError(
              e?.code ?? "unreachable",
              e?.message ?? "registration stopped",
              e?.sipStatus,
            ),
          );
        }
      });
    });
  }

  #fail(code: RegistrationErrorCode, message: string, sipStatus?: number): void {
    this.#regError = { code, message, sipStatus };
    if (!this.#reg.tryTransition(RegistrationState.Failed)) this.#delegate.onChange();
  }

  #registered(): void {
    this.#regError = undefined;
    this.#retryAt = undefined;
    this.#reg.tryTransition(RegistrationState.Registered);
  }

  #startUserAgent(uri: NonNullable<ReturnType<typeof UserAgent.makeURI>>): void {
    const account = this.#account!;
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    const ua = this.#createUserAgent({
      uri,
      displayName: account.displayName,
      authorizationUsername: account.authUser,
      authorizationPassword: account.password,
      transportOptions: { server: account.wsUrl, connectionTimeout: 5, keepAliveInterval: 0 },
      sessionDescriptionHandlerFactory: this.#sdhFactory,
      sipExtensionReplaces: SIPExtension.Supported,
      reconnectionAttempts: 0,
      logLevel: "error",
      logBuiltinEnabled: false,
      logConnector: (level, category, _label, content) => {
        if (level === "error") this.#log("warn", `sip.js ${category}: ${content}`);
      },
      userAgentString: "b24-webrtc-phone (SIP.js 0.21)",
      delegate: {
        onConnect: () => current() && this.#onConnect(),
        onDisconnect: (error) => current() && this.#onDisconnect(error),
        onInvite: (invitation) => current() && this.#delegate.onInvite(invitation),
      },
    });
    this.#ua = ua;
    this.#registerer = this.#createRegisterer(ua, { expires: this.#options.expiresSec });
    this.#registerer.stateChange.addListener((state) => {
      if (current() && state === RegistererState.Registered) this.#registered();
    });
    this.#phase.transition(ConnectionPhase.Connecting);
    ua.start().catch((error) => {
      if (!current()) return;
      this.#fail("unreachable", `cannot connect to ${account.wsUrl}: ${error?.message ?? error}`);
      this.#lost();
    });
  }

  #onConnect(): void {
    this.#log("info", "WebSocket connected");
    const reconnected = this.#phase.state === ConnectionPhase.Reconnecting;
    this.#phase.transition(ConnectionPhase.Connected);
    this.#reconnectAttempt = 0;
    this.#retryAt = undefined;
    this.#reg.tryTransition(RegistrationState.Registering);
    this.#delegate.onChange();
    this.#sendRegister();
    if (reconnected) this.#delegate.onReconnected();
  }

  #onDisconnect(error?: Error): void {
    this.#log("warn", "WebSocket disconnected", error?.message);
    if (this.#reg.state === RegistrationState.Registered) {
      this.#reg.transition(RegistrationState.Registering);
    }
    this.#lost();
  }

  /** The WebSocket is down (or never came up): wait and reconnect, unless that is futile. */
  #lost(): void {
    const retrying = this.#scheduleRetry();
    this.#phase.transition(retrying ? ConnectionPhase.Waiting : ConnectionPhase.Down);
    this.#delegate.onChange();
  }

  /**
   * Starts the backoff timer (unless one runs); false when no retry will come (no account, or
   * the server refused the credentials).
   */
  #scheduleRetry(): boolean {
    if (this.#reconnectTimer) return true;
    if (!this.#account || this.#regError?.code === "bad-credentials") return false;
    const { reconnectMinDelayMs: min, reconnectMaxDelayMs: max } = this.#options;
    const delay = reconnectDelay(this.#reconnectAttempt, min, max, this.#random);
    this.#reconnectAttempt++;
    this.#retryAt = this.#clock.now() + delay;
    this.#log("info", `reconnecting in ${delay} ms (attempt ${this.#reconnectAttempt})`);
    this.#delegate.onChange();
    const generation = this.#generation;
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (generation === this.#generation && this.#ua) this.#retry(this.#ua, generation);
    }, delay);
    if (this.#phase.state === ConnectionPhase.Down) this.#phase.transition(ConnectionPhase.Waiting);
    return true;
  }

  /** The backoff is over: re-REGISTER on a live connection, else reconnect. */
  #retry(ua: UserAgent, generation: number): void {
    if (this.#reg.state === RegistrationState.Failed) {
      this.#reg.transition(RegistrationState.Registering);
    }
    if (this.#phase.state === ConnectionPhase.Connected) {
      this.#sendRegister();
      return;
    }
    this.#phase.transition(ConnectionPhase.Reconnecting);
    ua.reconnect().catch((error) => {
      if (generation !== this.#generation) return;
      this.#fail("unreachable", `cannot reach ${this.#account?.wsUrl}: ${error?.message}`);
      this.#lost();
    });
  }

  #sendRegister(): void {
    const registerer = this.#registerer;
    if (!registerer || this.#registering) return;
    const generation = this.#generation;
    const current = () => generation === this.#generation;
    this.#registering = registerer.register({
      requestDelegate: {
        // SIP.js only emits a state change on the first success; re-REGISTERs after a
        // reconnect land here.
        onAccept: () => current() && this.#registered(),
        onReject: (response) => {
          if (!current()) return;
          const status = response.message.statusCode;
          if (status === 401 || status === 403 || status === 407) {
            this.#fail("bad-credentials", `the server refused the credentials (${status})`, status);
          } else {
            this.#fail(
              "rejected",
              `REGISTER failed: ${status} ${response.message.reasonPhrase}`,
              status,
            );
            this.#scheduleRetry();
          }
        },
      },
    }).then(() => {}, (error) => {
      if (!current()) return;
      this.#log("warn", "REGISTER could not be sent", error?.message);
      // A REGISTER still pending on a dead connection: retry shortly.
      this.#clock.setTimeout(() => current() && this.#sendRegister(), REGISTER_RESEND_MS);
    }).finally(() => {
      this.#registering = undefined;
    });
  }
}

/** SIP.js's own Registerer. */
export const sipRegisterer: RegistererFactory = (userAgent, options) =>
  new Registerer(userAgent, options);

/** SIP.js's own UserAgent. */
export const sipUserAgent: UserAgentFactory = (options) => new UserAgent(options);
