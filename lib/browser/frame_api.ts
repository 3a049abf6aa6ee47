/**
 * Browser-side client of the app's frame APIs (`/api/bitrix/widget`, `/api/calls`): adds the
 * frame credentials, turns error bodies into `ApiError`, and on a 401 asks Bitrix24 for a fresh
 * token once (through the frame SDK) before giving up.
 *
 * @module
 */

/** Frame credentials: the user's access token and the portal's member id. */
export interface FrameAuth {
  authId: string;
  memberId: string;
  /** Seconds the token is valid for (Bitrix24's AUTH_EXPIRES). */
  expiresIn?: number;
}

/** An API call failed; `code` is the server's error code. */
export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
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

/** Calls the app's APIs as the frame's user. */
export class FrameApi {
  constructor(
    private auth: FrameAuth,
    private readonly refresh: () => Promise<FrameAuth | undefined> = refreshFromFrame,
  ) {}

  /** POSTs a widget event; returns its answer. */
  widget<T = Record<string, unknown>>(body: { event: string } & Record<string, unknown>) {
    return this.request<T>("POST", "/api/bitrix/widget", body);
  }

  /** Sends a call-journal report. */
  reportCall<T = Record<string, unknown>>(report: Record<string, unknown>) {
    return this.request<T>("POST", "/api/calls", report);
  }

  /**
   * The call history (own calls, or every employee's for admins with `all`), or the one call
   * Bitrix24 knows as `bitrixCallId`.
   */
  history<T = Record<string, unknown>>(
    opts: { all?: boolean; limit?: number; bitrixCallId?: string } = {},
  ) {
    const query = new URLSearchParams({
      limit: String(opts.limit ?? 50),
      all: opts.all ? "1" : "0",
    });
    if (opts.bitrixCallId) query.set("bitrixCallId", opts.bitrixCallId);
    return this.request<T>("GET", `/api/calls?${query}`);
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    retried = false,
  ): Promise<T> {
    const response = await fetch(path, {
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
        return this.request<T>(method, path, body, true);
      }
    }
    const data = await response.json().catch(() => undefined);
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new ApiError(
        response.status,
        error?.code ?? "http_error",
        error?.message ?? `HTTP ${response.status}`,
      );
    }
    return data as T;
  }
}
