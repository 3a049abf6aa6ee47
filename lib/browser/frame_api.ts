/**
 * Browser-side client of the app's frame APIs (`/api/bitrix/widget`, `/api/calls`,
 * `/api/push/ticket`), typed by
 * the contract (`lib/shared/api/`): widget actions are called by name with their request's
 * fields and resolve to their answer as JSON gives it (dates as ISO strings). It adds the frame
 * credentials, turns error bodies into `ApiError`, and on a 401 asks Bitrix24 for a fresh token
 * once (through the frame SDK) and repeats the request with it; the fresh token is kept for
 * every later call of this client. Nothing else is retried.
 *
 * @module
 */
import type { Json } from "../shared/api/json.ts";
import type { WidgetAnswer, WidgetEvent, WidgetRequest } from "../shared/api/widget.ts";
import type {
  CallHistory,
  CallReportAnswer,
  CallReportInput,
  HistoryQuery,
} from "../shared/api/calls.ts";
import type { PushTicketAnswer } from "../shared/api/push.ts";

/** Frame credentials: the user's access token and the portal's member id. */
export interface FrameAuth {
  authId: string;
  memberId: string;
  /** Seconds the token is valid for (Bitrix24's AUTH_EXPIRES). */
  expiresIn?: number;
}

/**
 * An API call failed. `code` is the server's error code (`lib/shared/api/errors.ts`), or
 * `http_error` when the answer carried none (a proxy's error page); `message` is English, for
 * logs: a UI shows `apiErrorText(lang, code)`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The error body's `details` (a `bad_request`'s field issues). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** Asks the portal for a fresh token (b24jssdk `auth.refreshAuth()` inside a frame). */
export async function refreshFromFrame(): Promise<FrameAuth | undefined> {
  try {
    const { initializeB24Frame } = await import("@bitrix24/b24jssdk");
    const frame = await initializeB24Frame();
    const data = await frame.auth.refreshAuth();
    return { authId: data.access_token, memberId: data.member_id, expiresIn: data.expires_in };
  } catch {
    return undefined;
  }
}

/** Collaborators of a {@link FrameApi}. */
export interface FrameApiOptions {
  /**
   * Gets a fresh token after a 401, or undefined when there is none.
   * @defaultValue {@link refreshFromFrame}
   */
  refresh?: () => Promise<FrameAuth | undefined>;
  /** @defaultValue `globalThis.fetch` */
  fetch?: typeof fetch;
}

/** The fields of `E`'s request besides its `event`. */
export type WidgetParams<E extends WidgetEvent> = Omit<WidgetRequest<E>, "event">;

/** A widget action's answer as the client receives it. */
export type WidgetResult<E extends WidgetEvent> = Json<WidgetAnswer<E>>;

/** A portal employee as the admin panel lists them. */
export type Employee = WidgetResult<"GETPORTALUSERS">["users"][number];

/** Calls the app's APIs as the frame's user. */
export class FrameApi {
  private readonly refresh: () => Promise<FrameAuth | undefined>;
  private readonly fetch: typeof fetch;

  constructor(private auth: FrameAuth, options: FrameApiOptions = {}) {
    this.refresh = options.refresh ?? refreshFromFrame;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** The portal's member id these calls go to. */
  get memberId(): string {
    return this.auth.memberId;
  }

  /** Runs the widget action `event` with its request's fields; resolves to its answer. */
  widget<E extends WidgetEvent>(
    event: E,
    ...params: object extends WidgetParams<E> ? [params?: WidgetParams<E>] : [WidgetParams<E>]
  ): Promise<WidgetResult<E>> {
    return this.request("POST", "/api/bitrix/widget", { ...params[0], event });
  }

  /** Sends a call-journal report; resolves to the row as stored. */
  reportCall(report: CallReportInput): Promise<Json<CallReportAnswer>> {
    return this.request("POST", "/api/calls", report);
  }

  /**
   * The call history (own calls, or every employee's for admins with `all: "1"`), or the one
   * call Bitrix24 knows as `bitrixCallId`.
   */
  history(query: HistoryQuery = {}): Promise<Json<CallHistory>> {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) search.set(name, String(value));
    }
    return this.request("GET", search.size ? `/api/calls?${search}` : "/api/calls");
  }

  /** A single-use ticket for the user's push stream (`EventSource` cannot send headers). */
  pushTicket(): Promise<PushTicketAnswer> {
    return this.request("POST", "/api/push/ticket");
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    retried = false,
  ): Promise<T> {
    const response = await this.fetch(path, {
      method,
      headers: {
        authorization: `Bearer ${this.auth.authId}`,
        "x-member-id": this.auth.memberId,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (response.status === 401 && !retried) {
      const fresh = await this.refresh();
      if (fresh) {
        this.auth = fresh;
        await response.body?.cancel();
        return this.request<T>(method, path, body, true);
      }
    }
    const data = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string; details?: unknown } })
        ?.error;
      throw new ApiError(
        response.status,
        error?.code ?? "http_error",
        error?.message ?? `HTTP ${response.status}`,
        error?.details,
      );
    }
    return data as T;
  }
}
