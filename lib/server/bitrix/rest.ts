/**
 * Calling Bitrix24 REST through the official SDK (`B24OAuth`): one SDK client per portal and
 * process (so its leaky-bucket limiter is per portal), results unwrapped, failures turned into
 * `BitrixApiError` with the portal's error code.
 *
 * @module
 */
import {
  AjaxError,
  ApiVersion,
  B24OAuth,
  type BatchNamedCommandsUniversal,
  type CommandTuple,
  type CustomRefreshAuth,
  EnumAppStatus,
  SdkError,
  type TypeCallParams,
} from "@bitrix24/b24jssdk";
import { AppError } from "../errors.ts";
import { BITRIX_RATE } from "./portal_budget.ts";

/** A REST call failed; `code` is Bitrix24's error code (`expired_token`, `QUERY_LIMIT_EXCEEDED`…). */
export class BitrixApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    description: string,
    readonly method?: string,
  ) {
    super(`${method ? method + ": " : ""}${code}${description ? ` (${description})` : ""}`);
    this.name = "BitrixApiError";
  }

  /** Worth retrying later: rate limits, overload, 5xx, network. */
  get transient(): boolean {
    return this.status === 0 || this.status >= 500 || this.status === 429 ||
      this.status === 408 || this.code.startsWith("JSSDK_") || [
      "QUERY_LIMIT_EXCEEDED",
      "OVERLOAD_LIMIT",
      "OPERATION_TIME_LIMIT",
      "NETWORK_ERROR",
      "REQUEST_TIMEOUT",
      "PORTAL_MOVED",
    ].includes(this.code);
  }

  /**
   * A state of the portal or the app rather than of the request (fact 18): the subscription
   * lapsed (`PAYMENT_REQUIRED`, HTTP 402) or the OAuth server does not know the app
   * (`invalid_client`). Retrying the same data later, once it is lifted, succeeds.
   */
  get blockedReason(): "payment_required" | "invalid_client" | undefined {
    if (this.code === "PAYMENT_REQUIRED" || this.status === 402) return "payment_required";
    if (this.code === "invalid_client") return "invalid_client";
    return undefined;
  }

  /** The token is not (or no longer) accepted. */
  get unauthorized(): boolean {
    return this.status === 401 ||
      ["expired_token", "invalid_token", "NO_AUTH_FOUND", "invalid_grant"].includes(this.code);
  }
}

/** What the SDK needs to call one portal with one token pair. */
export interface RestClientOptions {
  memberId: string;
  domain: string;
  /** `https://portal/rest/` (stored, never taken from a request). */
  clientEndpoint: string;
  /** OAuth server REST root; only used for its host by the SDK's own refresh, which we replace. */
  serverEndpoint: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
  userId?: number;
  /** Our refresh (cross-process locked); without it a 401 is final. */
  refresh?: CustomRefreshAuth;
  /** Retries of rate-limited calls inside the SDK. */
  maxRetries?: number;
  /** Base delay of those retries (ms). */
  retryDelayMs?: number;
  /**
   * Asked when the portal answers with a redirect (it changed its address): the portal's
   * current REST root and token pair, or undefined when it is not known. The call is then
   * repeated there once; redirects are never followed (a redirected POST loses its body).
   */
  relocate?: (
    from: string,
  ) => Promise<{ clientEndpoint: string; domain: string; tokens: TokenPair } | undefined>;
}

/** An access/refresh token pair and when the access token expires. */
export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  expiresAt: Date;
}

/** HTTP statuses of a redirect: the portal moved (or something in front of it did). */
const REDIRECTS = [301, 302, 303, 307, 308];

/** A REST client bound to one portal and token pair. */
export class RestClient {
  private b24: B24OAuth;

  constructor(private options: RestClientOptions) {
    this.b24 = this.build(options);
  }

  private build(options: RestClientOptions): B24OAuth {
    const expires = Math.floor(options.expiresAt.getTime() / 1000);
    const b24 = new B24OAuth(
      {
        applicationToken: "",
        userId: options.userId ?? 0,
        memberId: options.memberId,
        accessToken: options.accessToken,
        refreshToken: options.refreshToken,
        expires,
        expiresIn: Math.max(0, expires - Math.floor(Date.now() / 1000)),
        scope: "",
        domain: options.domain,
        clientEndpoint: options.clientEndpoint,
        serverEndpoint: options.serverEndpoint,
        status: EnumAppStatus.Local,
      },
      // The SDK's own refresh is never used (see setCustomRefreshAuth): no secret here.
      { clientId: "", clientSecret: "" },
      {
        restrictionParams: {
          // Bitrix24's standard limit, held fixed: the SDK's adaptive mode cuts the rate by a
          // fifth on every 503 and wins it back by a tenth per run of successes, so a portal
          // that answered 503 for 20 s stayed throttled for over a minute after it recovered.
          rateLimit: {
            burstLimit: BITRIX_RATE.burst,
            drainRate: BITRIX_RATE.perSecond,
            adaptiveEnabled: false,
          },
          maxRetries: options.maxRetries ?? 3,
          retryDelay: options.retryDelayMs ?? 1000,
        },
      },
    );
    b24.offClientSideWarning();
    // A moved portal's old address redirects, and a redirected POST may arrive as a GET
    // without its body: never follow, treat it as a signal (see `relocate`).
    for (const version of [ApiVersion.v2, ApiVersion.v3]) {
      b24.getHttpClient(version).ajaxClient.defaults.maxRedirects = 0;
    }
    b24.setCustomRefreshAuth(
      options.refresh ??
        (() =>
          Promise.reject(new BitrixApiError("expired_token", 401, "token refresh not allowed"))),
    );
    return b24;
  }

  /** The access token the client currently uses (false once it has expired locally). */
  currentAccessToken(): string | undefined {
    const data = this.b24.auth.getAuthData();
    return data === false ? undefined : data.access_token;
  }

  /** Calls `method` and returns its `result`; throws `BitrixApiError`. */
  async call<T = unknown>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    return (await this.callPage<T>(method, params)).result;
  }

  /** Calls a list method; returns the page with `next` and `total`. */
  async callPage<T = unknown>(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<{ result: T; next?: number; total?: number }> {
    const data = await this.run(method, () => this.b24.actions.v2.call.make<T>({ method, params }));
    return data as { result: T; next?: number; total?: number };
  }

  /**
   * Runs up to 50 calls in one `batch` request; returns results by key, and errors by key in
   * `errors` (halt off).
   */
  async batch(
    calls: Record<string, { method: string; params?: Record<string, unknown> }>,
  ): Promise<{ results: Record<string, unknown>; errors: Record<string, BitrixApiError> }> {
    const cmd: BatchNamedCommandsUniversal = Object.fromEntries(
      Object.entries(calls).map((
        [key, { method, params }],
      ): [string, CommandTuple] => [key, [method, (params ?? {}) as TypeCallParams]]),
    );
    // With `returnAjaxResult` the SDK answers one AjaxResult per command, keyed like `calls`.
    const answer = await this.run("batch", () =>
      this.b24.actions.v2.batch.make({
        calls: cmd,
        options: { isHaltOnError: false, returnAjaxResult: true },
      }));
    const results: Record<string, unknown> = {};
    const errors: Record<string, BitrixApiError> = {};
    for (const [key, value] of Object.entries(answer as Record<string, unknown>)) {
      const item = value as { isSuccess?: boolean; getData?: () => { result: unknown } };
      if (item && typeof item.getData === "function") {
        if (item.isSuccess) results[key] = item.getData()?.result;
        else errors[key] = toApiError(firstError(item), calls[key]?.method);
      } else {
        results[key] = value;
      }
    }
    return { results, errors };
  }

  private async run(method: string, fn: () => Promise<unknown>, moved = false): Promise<unknown> {
    let response;
    const endpoint = this.options.clientEndpoint;
    try {
      response = await fn();
    } catch (err) {
      // Errors of our own refresh come back wrapped by the SDK: surface them as they were.
      const original = (err as { originalError?: unknown }).originalError;
      if (original instanceof AppError) throw original;
      const error = toApiError(original instanceof BitrixApiError ? original : err, method);
      if (error.code !== "PORTAL_MOVED" || moved || !this.options.relocate) throw error;
      // A call that left before another one moved this client: just repeat it.
      if (this.options.clientEndpoint !== endpoint) return this.run(method, fn, true);
      const next = await this.options.relocate(endpoint);
      if (!next || next.clientEndpoint === endpoint) throw error;
      this.options = {
        ...this.options,
        clientEndpoint: next.clientEndpoint,
        domain: next.domain,
        ...next.tokens,
      };
      this.b24 = this.build(this.options);
      return this.run(method, fn, true);
    }
    const result = response as {
      isSuccess: boolean;
      getData(): { result: unknown } | undefined;
      getErrors?(): Iterable<unknown>;
    };
    if (!result.isSuccess) throw toApiError(firstError(result), method);
    return result.getData();
  }
}

function firstError(result: unknown): unknown {
  const errors = (result as { getErrors?: () => Iterable<unknown> }).getErrors?.();
  if (!errors) return undefined;
  for (const e of errors) return e;
  return undefined;
}

/** Converts whatever the SDK threw into a `BitrixApiError` (no request data, no tokens). */
function toApiError(err: unknown, method?: string): BitrixApiError {
  if (err instanceof BitrixApiError) return err;
  if (err instanceof AjaxError || err instanceof SdkError) {
    const e = err as SdkError & { status?: number; code?: string; description?: string };
    const code = String(e.code ?? "UNKNOWN");
    const status = typeof e.status === "number" ? e.status : 0;
    if (REDIRECTS.includes(status)) {
      return new BitrixApiError("PORTAL_MOVED", status, "the portal answered a redirect", method);
    }
    const network = /NETWORK|TIMEOUT|ECONN/i.test(code);
    return new BitrixApiError(network ? "NETWORK_ERROR" : code, network ? 0 : status, "", method);
  }
  if (err instanceof Error) return new BitrixApiError("NETWORK_ERROR", 0, err.name, method);
  return new BitrixApiError("UNKNOWN", 0, "", method);
}
