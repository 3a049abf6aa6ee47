import { assertEquals, assertRejects } from "../../tests/support/assert.ts";
import { ApiError, FrameApi, type FrameAuth } from "./frame_api.ts";

interface Sent {
  method: string;
  url: string;
  authorization: string | null;
  memberId: string | null;
  body: unknown;
}

/** A fetch that records each request and answers with the next of `answers`. */
function fakeFetch(...answers: (() => Response)[]) {
  const sent: Sent[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    sent.push({
      method: init?.method ?? "GET",
      url: String(input),
      authorization: headers.get("authorization"),
      memberId: headers.get("x-member-id"),
      body: init?.body === undefined ? undefined : JSON.parse(String(init.body)),
    });
    const answer = answers.shift();
    if (!answer) throw new Error("unexpected request");
    return Promise.resolve(answer());
  };
  return { fetch, sent };
}

const json = (status: number, body: unknown) => () => Response.json(body, { status });
const AUTH: FrameAuth = { authId: "token-1", memberId: "member-1" };
const FRESH: FrameAuth = { authId: "token-2", memberId: "member-1" };

Deno.test("[frame_api] a widget action is posted by name with the frame's credentials", async () => {
  const { fetch, sent } = fakeFetch(json(200, { sipUri: "sip:101@pbx" }));
  const api = new FrameApi(AUTH, { fetch });
  assertEquals(await api.widget("GETTRANSFERTARGET", { userId: 7 }), { sipUri: "sip:101@pbx" });
  assertEquals(sent, [{
    method: "POST",
    url: "/api/bitrix/widget",
    authorization: "Bearer token-1",
    memberId: "member-1",
    body: { userId: 7, event: "GETTRANSFERTARGET" },
  }]);
});

Deno.test("[frame_api] the history query names only what was asked", async () => {
  const { fetch, sent } = fakeFetch(json(200, { calls: [] }), json(200, { calls: [] }));
  const api = new FrameApi(AUTH, { fetch });
  await api.history();
  await api.history({ bitrixCallId: "CALL 1", limit: 5 });
  assertEquals(sent.map((s) => [s.method, s.url, s.body]), [
    ["GET", "/api/calls", undefined],
    ["GET", "/api/calls?bitrixCallId=CALL+1&limit=5", undefined],
  ]);
});

Deno.test("[frame_api] a 401 refreshes the token once, repeats, and keeps the fresh one", async () => {
  const { fetch, sent } = fakeFetch(
    json(401, { error: { code: "unauthorized", message: "expired" } }),
    json(200, { ok: true }),
    json(200, { call: {} }),
  );
  let refreshes = 0;
  const refresh = () => {
    refreshes++;
    return Promise.resolve(FRESH);
  };
  const api = new FrameApi(AUTH, { fetch, refresh });
  await api.widget("DELETEUSERDATA", { userId: 3 });
  await api.reportCall({ phase: "answer", sipCallId: "abc@pbx" });
  assertEquals(refreshes, 1);
  assertEquals(sent.map((s) => s.authorization), [
    "Bearer token-1",
    "Bearer token-2",
    "Bearer token-2",
  ]);
  assertEquals(sent[1].body, sent[0].body);
});

Deno.test("[frame_api] a 401 without a fresh token, or after one, is an ApiError", async () => {
  const unauthorized = json(401, { error: { code: "unauthorized", message: "expired" } });
  const none = fakeFetch(unauthorized);
  const noToken = new FrameApi(AUTH, {
    fetch: none.fetch,
    refresh: () => Promise.resolve(undefined),
  });
  const error = await assertRejects(() => noToken.widget("GETME"), ApiError);
  assertEquals([error.status, error.code, none.sent.length], [401, "unauthorized", 1]);

  const twice = fakeFetch(unauthorized, unauthorized);
  const stillRefused = new FrameApi(AUTH, {
    fetch: twice.fetch,
    refresh: () => Promise.resolve(FRESH),
  });
  await assertRejects(() => stillRefused.widget("GETME"), ApiError);
  assertEquals(twice.sent.length, 2);
});

Deno.test("[frame_api] error bodies become ApiErrors with their code and details", async () => {
  const details = [{ path: "url", message: "must be a wss:// URL" }];
  const { fetch } = fakeFetch(
    json(400, { error: { code: "bad_request", message: "invalid request", details } }),
    json(403, { error: { code: "forbidden", message: "only a portal administrator can do this" } }),
    () => new Response("<html>Bad Gateway</html>", { status: 502 }),
  );
  const api = new FrameApi(AUTH, { fetch, refresh: () => Promise.resolve(undefined) });
  const bad = await assertRejects(
    () => api.widget("SAVEUSERDATA", { userId: 2, url: "http://x", user: "1" }),
    ApiError,
  );
  assertEquals([bad.status, bad.code, bad.details], [400, "bad_request", details]);
  const forbidden = await assertRejects(
    () => api.widget("GETUSERSDATA", { usersId: [] }),
    ApiError,
  );
  assertEquals([forbidden.status, forbidden.code], [403, "forbidden"]);
  const proxy = await assertRejects(() => api.history(), ApiError);
  assertEquals([proxy.status, proxy.code, proxy.message], [502, "http_error", "HTTP 502"]);
});

Deno.test("[frame_api] a network failure is not retried", async () => {
  let attempts = 0;
  const api = new FrameApi(AUTH, {
    fetch: () => {
      attempts++;
      return Promise.reject(new TypeError("Failed to fetch"));
    },
  });
  await assertRejects(() => api.widget("GETME"), TypeError);
  assertEquals(attempts, 1);
});
