import assert from "node:assert/strict";
import { log } from "../../log.ts";
import { VaultError } from "./errors.ts";
import { type RetryPolicy, vaultFetch, vaultRequest, vaultRequestWithRetry } from "./http.ts";

const logLines: string[] = [];
log.setSink((line) => logLines.push(line));

const ADDR = "http://vault.test:8200";
const POLICY: RetryPolicy = { attempts: 4, baseMs: 1, maxMs: 4, random: () => 0 };

/** A fetch answering each call with the next status (the last one repeats), recording requests. */
function scripted(statuses: number[], body: (status: number) => unknown = () => ({})) {
  const requests: Request[] = [];
  const fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    requests.push(new Request(input, init));
    const status = statuses[Math.min(requests.length - 1, statuses.length - 1)];
    const text = status === 204 ? null : JSON.stringify(body(status));
    return Promise.resolve(new Response(text, { status }));
  };
  return { fetch, requests };
}

/** A fetch that never answers until its signal aborts. */
const hanging = (_: RequestInfo | URL, init?: RequestInit) =>
  new Promise<Response>((_, reject) => {
    init?.signal?.addEventListener("abort", () => reject(new DOMException("", "AbortError")));
  });

Deno.test("[vault http] builds the /v1/ URL, headers and JSON body; LIST is GET ?list=true", async () => {
  const { fetch, requests } = scripted([200], () => ({ data: { keys: ["a"] } }));
  const http = { addr: ADDR, namespace: "team", fetch };
  const body = await vaultRequest(http, {
    method: "LIST",
    path: "/secret/metadata/app",
    token: "t0k",
    query: { a: "1" },
  });
  assert.deepEqual(body, { data: { keys: ["a"] } });
  await vaultRequest(http, { method: "POST", path: "auth/approle/login", body: { role_id: "r" } });
  const [list, login] = requests;
  assert.equal(list.method, "GET");
  assert.equal(list.url, `${ADDR}/v1/secret/metadata/app?a=1&list=true`);
  assert.equal(list.headers.get("X-Vault-Token"), "t0k");
  assert.equal(list.headers.get("X-Vault-Namespace"), "team");
  assert.equal(list.headers.get("X-Vault-Request"), "true");
  assert.equal(list.headers.get("Content-Type"), null);
  assert.equal(login.headers.get("X-Vault-Token"), null);
  assert.equal(login.headers.get("Content-Type"), "application/json");
  assert.deepEqual(await login.json(), { role_id: "r" });
});

Deno.test("[vault http] 204 is null, an error status a typed VaultError, any status kept raw", async () => {
  const http = {
    addr: ADDR,
    fetch: scripted([204, 404, 503], () => ({ errors: ["sealed"] })).fetch,
  };
  assert.equal(await vaultRequest(http, { method: "POST", path: "auth/token/revoke-self" }), null);
  await assert.rejects(vaultRequest(http, { method: "GET", path: "secret/data/x" }), (err) => {
    assert.ok(err instanceof VaultError);
    assert.equal(err.kind, "not_found");
    assert.equal(err.path, "secret/data/x");
    return true;
  });
  assert.deepEqual(await vaultFetch(http, { method: "GET", path: "sys/health" }), {
    status: 503,
    body: { errors: ["sealed"] },
  });
});

Deno.test("[vault http] no response: timeout, network, or closed by the caller's signal", async () => {
  const timedOut = vaultRequest({ addr: ADDR, timeoutMs: 10, fetch: hanging }, {
    method: "GET",
    path: "sys/health",
  });
  await assert.rejects(timedOut, (err) => err instanceof VaultError && err.kind === "timeout");
  const refused = () => Promise.reject(new TypeError("connection refused"));
  await assert.rejects(
    vaultRequest({ addr: ADDR, fetch: refused }, { method: "GET", path: "sys/health" }),
    (err) => err instanceof VaultError && err.kind === "network" && err.status === 0,
  );
  const closing = new AbortController();
  const closed = vaultRequest({ addr: ADDR, fetch: hanging }, {
    method: "GET",
    path: "sys/health",
    signal: closing.signal,
  });
  closing.abort();
  await assert.rejects(closed, (err) => err instanceof VaultError && err.kind === "closed");
});

Deno.test("[vault http] retries transient failures with backoff, up to the attempts", async () => {
  logLines.length = 0;
  const flaky = scripted([503, 429, 500, 200], (s) => s === 503 ? { errors: ["sealed"] } : {});
  const req = { method: "GET", path: "secret/data/app", token: "hvs.secret" } as const;
  assert.deepEqual(
    await vaultRequestWithRetry({ addr: ADDR, fetch: flaky.fetch }, req, POLICY),
    {},
  );
  assert.equal(flaky.requests.length, 4);
  const retries = logLines.filter((line) => line.includes("vault.retry"));
  assert.equal(retries.length, 3);
  assert.ok(!logLines.join("\n").includes("hvs.secret"));

  const down = scripted([502]);
  await assert.rejects(
    vaultRequestWithRetry({ addr: ADDR, fetch: down.fetch }, req, POLICY),
    (err) => err instanceof VaultError && err.kind === "server",
  );
  assert.equal(down.requests.length, POLICY.attempts);

  for (const status of [400, 403, 404, 405]) {
    const final = scripted([status]);
    await assert.rejects(vaultRequestWithRetry({ addr: ADDR, fetch: final.fetch }, req, POLICY));
    assert.equal(final.requests.length, 1, `status ${status}`);
  }
});

Deno.test("[vault http] the caller's signal ends a backoff wait as closed", async () => {
  const closing = new AbortController();
  const down = scripted([503]);
  const slow: RetryPolicy = { attempts: 5, baseMs: 60_000, maxMs: 60_000, random: () => 0 };
  const started = Date.now();
  const call = vaultRequestWithRetry({ addr: ADDR, fetch: down.fetch }, {
    method: "GET",
    path: "secret/data/app",
    signal: closing.signal,
  }, slow);
  setTimeout(() => closing.abort(), 10);
  await assert.rejects(call, (err) => err instanceof VaultError && err.kind === "closed");
  assert.equal(down.requests.length, 1);
  assert.ok(Date.now() - started < 5000);
});
