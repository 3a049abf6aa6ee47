/**
 * Hostile input: 1,000 seeded requests per route (malformed forms, wrong types, huge bodies,
 * prototype-pollution keys, deep brackets, invalid UTF-8, forged tokens and member ids, wrong
 * content types, random JSON) against the app with an installed portal (the emulator).
 *
 * What each route may answer (anything else fails the test, with the request that got it):
 *
 * | route                            | methods    | allowed                                        |
 * | -------------------------------- | ---------- | ---------------------------------------------- |
 * | `/`                              | GET, POST  | 200 only as the "open it in Bitrix24" notice (no island rendered), 400, 401, 413, 429 |
 * | `/install`                       | GET, POST  | 400, 401, 413, 429 (past the client's install-check budget; an unknown member also 502, 503) |
 * | `/api/bitrix/install`            | POST       | 401 (without details: nothing is validated before auth), 413 |
 * | `/api/bitrix/callback`           | POST       | 401 (without details), 413                     |
 * | `/api/bitrix/placement-error`    | POST       | 400, 401, 413                                  |
 * | `/api/bitrix/widget`             | POST       | 400, 401, 413, 429 (forged frames 401, or 429 past the portal's sign-in budget; an admin's frame with a broken body 400) |
 * | `/api/calls`                     | POST       | 400, 401, 413, 429                             |
 * | `/api/calls`                     | GET        | 200 (a read with a real frame), 400, 401, 429  |
 * | `/api/push/ticket`               | POST       | 401, 429 (forged frames only: a real one would store a ticket) |
 * | `/api/push/stream`               | GET        | 401 (no valid ticket: nothing else is read first) |
 * | `/placement/background`          | GET, POST  | 200 (the static worker page), 413              |
 * | any route, another method        | PUT, …     | 404, 413                                       |
 *
 * and for every answer: no stack trace or source location in the body, API errors in the JSON
 * error shape, no 5xx logged; afterwards the process answers /healthz and /readyz and every
 * table is exactly as before.
 *
 * `RELIABILITY_SEED=<n>` replays another sequence.
 *
 * Then takeover attempts one by one, on real PostgreSQL (issue 12): an employee's real frame
 * tokens in a forged ONAPPINSTALL, a forged ONAPPUNINSTALL with the real application token while
 * the app is installed (and a flood of them), a real uninstall while the portal is unreachable
 * (also across a restart), a lost ONAPPINSTALL recovered from an administrator's page and not an
 * employee's, a reinstall after a lost ONAPPUNINSTALL, events without `auth`, a journal report
 * for another employee's call, a dead server-side token pair, and an app update.
 */
import { assert, assertEquals } from "../support/assert.ts";
import { type BitrixHarness, startBitrixHarness } from "../support/bitrix.ts";
import { generateKey } from "../../lib/server/secrets/crypto.ts";
import { noPostgres, startPostgres, startPostgresIfInstalled } from "../support/postgres.ts";
import { calls as callsTable, portals, sipAccounts } from "../../lib/server/db/schema.ts";
import { pool, Random, seedFromEnv, snapshotDatabase, stackTraceIn } from "./support.ts";
import { withCapturedLogs } from "../support/logs.ts";
import { waitFor } from "../support/wait.ts";
import { readiness, readJson } from "../support/http.ts";

const PER_ROUTE = 1000;
const CONCURRENCY = 8;
const SEED = seedFromEnv(0x5eed_b24);
const BODY_LIMIT = 256 * 1024;
const ADMIN = 1;

const FORM = "application/x-www-form-urlencoded";

/** One generated request and what it may get. */
interface Hostile {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  allowed: number[];
  /** Which generator branch made it (printed on failure). */
  kind: string;
}

/** What generators know about the installed portal. */
interface Ctx {
  memberId: string;
  /** The emulator's host:port (a reachable, real portal). */
  portalDomain: string;
  /** A real frame token of the portal administrator. */
  adminToken: string;
  /** A real frame token of a user (valid at the portal, never sent with a broken frame). */
  userToken: string;
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const PROTO_KEYS = [
  "__proto__[x]",
  "__proto__[isAdmin]",
  "constructor[prototype][x]",
  "constructor[prototype][isAdmin]",
  "__proto__",
  "a[__proto__][b]",
  "auth[__proto__][member_id]",
  "data[constructor][prototype]",
  "prototype[x]",
  "x[prototype]",
];

const MALFORMED_KEYS = ["a[", "a]", "[]", "[a]", "a[b]c", "a[[b]]", "a[b", "", "a[]]", "]["];

const INVALID_UTF8 = [
  new Uint8Array([0xff, 0xfe, 0xfd]),
  new Uint8Array([0xc3, 0x28]),
  new Uint8Array([0xe2, 0x82]),
  new Uint8Array([0xf0, 0x90, 0x80]),
  new Uint8Array([0xed, 0xa0, 0x80]), // a UTF-16 surrogate encoded in UTF-8
  new Uint8Array([0xc0, 0xaf]), // overlong "/"
  new Uint8Array([0x00]),
];

const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "%00",
  "%",
  "%zz",
  "%ff%fe",
  "../../etc/passwd",
  "<script>alert(1)</script>",
  "'; drop table portals; --",
  "${jndi:ldap://x}",
  "{{7*7}}",
  "\u202e\u0000\ud800",
  "\r\nSet-Cookie: x=1",
  "NaN",
  "Infinity",
  "-1",
  "1e309",
  "0x10",
  "true",
  "null",
  "[object Object]",
];

function concat(...parts: (string | Uint8Array)[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const chunks = parts.map((p) => typeof p === "string" ? enc.encode(p) : p);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function weird(rng: Random): string {
  return rng.chance(0.7)
    ? rng.pick(WEIRD_STRINGS)
    : rng.string(rng.int(1, 80), "aZ09%&=[]{}\"'\\/<>;:,.~!@#$^*()+ \t\u00e9\u0416\ud83d\ude00");
}

/** A random JSON value (nested up to `depth`). */
function randomJson(rng: Random, depth = 4): unknown {
  const k = rng.int(0, depth > 0 ? 9 : 5);
  switch (k) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 2 ** 53 + 1, -(2 ** 31), 1e308, 42]);
    case 3:
      return weird(rng);
    case 4:
      return rng.string(rng.int(0, 20));
    case 5:
      return rng.pick(["GETME", "SAVEUSERDATA", "start", "end", "ONAPPUNINSTALL"]);
    case 6:
    case 7:
      return Array.from({ length: rng.int(0, 5) }, () => randomJson(rng, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(0, 6); i > 0; i--) {
        o[rng.pick(["event", "userId", "phase", "__proto__", "constructor", "a", rng.string(5)])] =
          randomJson(rng, depth - 1);
      }
      return o;
    }
  }
}

/** JSON text that never parses (or parses to something no schema takes). */
function brokenJsonText(rng: Random): string | Uint8Array<ArrayBuffer> {
  return rng.pick<string | Uint8Array<ArrayBuffer>>([
    "{",
    "{'event':'GETME'}",
    '{"event":"GETME",}',
    "[1,2",
    "undefined",
    "",
    '{"a":' + "[".repeat(5000) + "]".repeat(5000) + "}",
    concat('{"event":"', INVALID_UTF8[0], '"}'),
    '{"event":"\\ud800"}',
    "\ufeff{}",
    "null",
    "0",
    '"GETME"',
  ]);
}

function urlencode(pairs: [string, string][]): string {
  const enc = (s: string) => encodeURIComponent(s.toWellFormed());
  return pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join("&");
}

/**
 * A hostile form body built around `base` (the fields a plausible request would have): one of
 * the attacks, with the right content type most of the time.
 */
function hostileForm(
  rng: Random,
  base: [string, string][],
): { body: string | Uint8Array<ArrayBuffer>; type?: string; kind: string } {
  const attack = rng.int(0, 12);
  const type = FORM;
  switch (attack) {
    case 0: {
      const key = rng.pick(PROTO_KEYS);
      const pairs = [...base];
      pairs.splice(rng.int(0, pairs.length), 0, [key, weird(rng)]);
      return { body: urlencode(pairs), type, kind: `prototype key ${key}` };
    }
    case 1: {
      const depth = rng.int(9, 400);
      const key = "auth" + "[a]".repeat(depth);
      return { body: urlencode([...base, [key, "1"]]), type, kind: `brackets ×${depth}` };
    }
    case 2: {
      const key = rng.pick(MALFORMED_KEYS);
      return {
        body: urlencode([[key, "x"], ...base]),
        type,
        kind: `malformed key ${JSON.stringify(key)}`,
      };
    }
    case 3: {
      // Wrong types: a field sent as an array or an object.
      if (!base.length) return { body: "a[]=1&a[b]=2", type, kind: "mixed array/object" };
      const i = rng.int(0, base.length - 1);
      const [k, v] = base[i];
      const pairs = [...base];
      pairs[i] = [rng.chance(0.5) ? `${k}[]` : `${k}[x]`, v];
      return { body: urlencode(pairs), type, kind: `wrong type for ${k}` };
    }
    case 4: {
      const n = rng.int(1001, 3000);
      const pairs: [string, string][] = Array.from({ length: n }, (_, j) => [`f${j}`, "1"]);
      return { body: urlencode(pairs), type, kind: `${n} fields` };
    }
    case 5: {
      const bytes = rng.pick(INVALID_UTF8);
      const pairs = urlencode(base);
      return {
        body: concat(pairs, pairs ? "&" : "", "x=", bytes, "&", bytes, "=", bytes),
        type,
        kind: "invalid UTF-8 bytes",
      };
    }
    case 6:
      return {
        body: urlencode(base) +
          rng.pick(["&%zz=1", "&a=%", "&&&&", "&=", "&%E0%A4%A=1", "&a=%ff%fe"]),
        type,
        kind: "broken percent-encoding",
      };
    case 7: {
      // A field far over any length limit, below the body limit.
      if (!base.length) return { body: "a=" + "x".repeat(100_000), type, kind: "long field" };
      const i = rng.int(0, base.length - 1);
      const pairs = [...base];
      pairs[i] = [pairs[i][0], "x".repeat(rng.int(2_000, 200_000))];
      return { body: urlencode(pairs), type, kind: `long ${pairs[i][0]}` };
    }
    case 8: {
      const boundary = "----b" + rng.hex(12);
      const parts = base.map(([k, v]) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`
      ).join("");
      const file =
        `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="a.php"\r\n` +
        `Content-Type: application/x-php\r\n\r\n<?php system($_GET[c]); ?>\r\n`;
      const broken = rng.chance(0.5);
      return {
        body: broken
          ? parts + `--${boundary}\r\nContent-Disposition`
          : parts + file + `--${boundary}--\r\n`,
        type: `multipart/form-data; boundary=${boundary}`,
        kind: broken ? "truncated multipart" : "multipart with a file",
      };
    }
    case 9:
      return {
        body: urlencode(base),
        type: rng.pick([
          "application/json",
          "text/plain",
          "multipart/form-data",
          "application/x-www-form-urlencoded; charset=utf-16",
          "text/html",
          "application/xml",
        ]),
        kind: "form body, wrong content type",
      };
    case 10:
      return { body: urlencode(base), type: undefined, kind: "no content type" };
    case 11:
      return {
        body: JSON.stringify(randomJson(rng)),
        type: rng.pick([FORM, "application/json"]),
        kind: "random JSON",
      };
    default: {
      const pairs = base.map(([k]) => [k, weird(rng)] as [string, string]);
      return { body: urlencode(pairs), type, kind: "weird values" };
    }
  }
}

/** A body over the app's limit (413 before any handler reads it). */
function hugeBody(rng: Random): string {
  return "a=" + "x".repeat(BODY_LIMIT + rng.int(1, 200_000));
}

/** Frame headers an attacker could send (never a real token with a real member id). */
function forgedFrame(rng: Random, ctx: Ctx): { headers: Record<string, string>; kind: string } {
  switch (rng.int(0, 8)) {
    case 0:
      return { headers: {}, kind: "no frame headers" };
    case 1:
      return {
        headers: { authorization: `Bearer ${rng.hex(32)}`, "x-member-id": ctx.memberId },
        kind: "made-up token, real member",
      };
    case 2:
      return {
        headers: { authorization: `Bearer ${ctx.adminToken}`, "x-member-id": rng.hex(32) },
        kind: "real token, forged member",
      };
    case 3:
      return {
        headers: {
          authorization: `Bearer ${ctx.userToken}`,
          "x-member-id": ctx.memberId.toUpperCase(),
        },
        kind: "real token, member id in upper case",
      };
    case 4:
      return {
        headers: {
          authorization: `Bearer ${rng.pick(["a b", "", "x".repeat(501), "%00", "a\tb"])}`,
          "x-member-id": ctx.memberId,
        },
        kind: "malformed bearer",
      };
    case 5:
      return {
        headers: {
          authorization: `Bearer ${rng.hex(40)}`,
          "x-member-id": rng.pick(["__proto__", "constructor", "../x", "a b", "x".repeat(65), ""]),
        },
        kind: "hostile member id",
      };
    case 6:
      return {
        headers: { authorization: `Basic ${btoa("admin:admin")}`, "x-member-id": ctx.memberId },
        kind: "basic auth",
      };
    case 7:
      return {
        headers: {
          authorization: `Bearer ${rng.hex(32)}`,
          "x-member-id": ctx.memberId,
          "x-auth-expires": rng.pick(["-1", "1e309", "abc", "999999999999"]),
        },
        kind: "made-up token, odd expiry",
      };
    default:
      return {
        headers: { authorization: `Bearer ${ctx.userToken}x`, "x-member-id": ctx.memberId },
        kind: "real token plus a character",
      };
  }
}

// ---------------------------------------------------------------------------------------------
// Per-route generators

const OTHER_METHODS = ["PUT", "DELETE", "PATCH"];

/** A plausible Bitrix24 event form with forged credentials. */
function eventBase(rng: Random, ctx: Ctx, event: string): [string, string][] {
  const member = rng.chance(0.7) ? ctx.memberId : rng.pick([rng.hex(32), "x", "__proto__"]);
  const base: [string, string][] = [
    ["event", event],
    ["ts", String(Math.floor(Date.now() / 1000))],
    ["auth[member_id]", member],
    ["auth[application_token]", rng.chance(0.8) ? rng.hex(32) : weird(rng)],
    ["auth[domain]", rng.chance(0.5) ? ctx.portalDomain : "evil.example"],
  ];
  if (event === "ONAPPINSTALL" || rng.chance(0.3)) {
    base.push(["auth[access_token]", rng.hex(rng.pick([32, 64]))]);
    base.push(["auth[refresh_token]", rng.hex(32)]);
  }
  if (event === "ONEXTERNALCALLSTART") {
    base.push(
      ["data[PHONE_NUMBER]", "+74951234567"],
      ["data[USER_ID]", String(rng.int(1, 5))],
      ["data[CALL_ID]", `externalCall.${rng.hex(16)}`],
    );
  }
  if (event === "ONAPPUNINSTALL") base.push(["data[CLEAN]", "1"]);
  return base;
}

/** Form routes: a forged-but-plausible body most of the time, then an attack on top. */
function formRoute(
  route: string,
  allowed: number[],
  base: (rng: Random, ctx: Ctx) => [string, string][],
  query: (rng: Random, ctx: Ctx) => string = () => "",
) {
  return (rng: Random, ctx: Ctx): Hostile => {
    const path = route + query(rng, ctx);
    const accept: Record<string, string> = rng.chance(0.3) ? { accept: "text/html,*/*" } : {};
    if (rng.chance(0.03)) {
      return {
        method: rng.pick(OTHER_METHODS),
        path,
        headers: accept,
        allowed: [404],
        kind: "method",
      };
    }
    if (rng.chance(0.05)) {
      return {
        method: "POST",
        path,
        headers: { ...accept, "content-type": FORM },
        body: hugeBody(rng),
        allowed: [413],
        kind: "huge body",
      };
    }
    const fields = base(rng, ctx);
    if (rng.chance(0.15)) {
      // Plausible and well-formed, only the credentials are forged.
      return {
        method: "POST",
        path,
        headers: { ...accept, "content-type": FORM },
        body: urlencode(fields),
        allowed,
        kind: "forged credentials",
      };
    }
    const f = hostileForm(rng, fields);
    return {
      method: "POST",
      path,
      headers: { ...accept, ...(f.type ? { "content-type": f.type } : {}) },
      body: f.body,
      allowed,
      kind: f.kind,
    };
  };
}

function pageFields(rng: Random, ctx: Ctx): [string, string][] {
  const member = rng.chance(0.7) ? ctx.memberId : rng.pick([rng.hex(32), "x", "__proto__", "a b"]);
  return [
    ["AUTH_ID", rng.chance(0.8) ? rng.hex(rng.pick([32, 70])) : weird(rng)],
    ["AUTH_EXPIRES", rng.pick(["3600", "-1", "0", "1e9", "abc"])],
    ["REFRESH_ID", rng.hex(32)],
    ["member_id", member],
    ["status", rng.pick(["L", "F", "x"])],
    ["PLACEMENT", rng.pick(["DEFAULT", "LEFT_MENU", weird(rng)])],
    ["PLACEMENT_OPTIONS", rng.pick(["{}", "{", JSON.stringify(randomJson(rng))])],
  ];
}

function pageQuery(rng: Random, ctx: Ctx): string {
  if (rng.chance(0.3)) return "";
  const q = new URLSearchParams({
    DOMAIN: rng.pick([
      ctx.portalDomain,
      "evil.example",
      "a".repeat(300),
      "127.0.0.1:1/x",
      weird(rng),
    ]),
    PROTOCOL: rng.pick(["0", "1", "2", ""]),
    LANG: rng.pick(["ru", "en", "xx-YY", "../", weird(rng)]),
    APP_SID: rng.hex(rng.int(0, 40)),
  });
  return "?" + q.toString();
}

/**
 * `/`: the page answers GET and POST; without credentials it shows a notice (200); forged
 * tokens past the portal's sign-in budget get 429.
 */
function indexRoute(rng: Random, ctx: Ctx): Hostile {
  const allowed = [200, 400, 401, 413, 429];
  if (rng.chance(0.15)) {
    return {
      method: "GET",
      path: "/" + pageQuery(rng, ctx),
      headers: {},
      allowed,
      kind: "GET with query",
    };
  }
  return formRoute("/", allowed, pageFields, pageQuery)(rng, ctx);
}

/**
 * `/install`: forged installer requests. For a known member the app asks the stored portal (the
 * emulator) and never DOMAIN. An unknown member must be asked at DOMAIN: the emulator over
 * http (it rejects the token: 401), or an address that does not answer (127.0.0.1:1, or https
 * to the emulator's plain-http port): 502, because the app cannot tell a dead portal from a fake
 * one; or 503 when more first installs are being checked at once than the cap allows. Past the
 * client's install-check budget: 429.
 */
function installRoute(rng: Random, ctx: Ctx): Hostile {
  const known = rng.chance(0.6);
  const allowed = known ? [400, 401, 413, 429] : [400, 401, 413, 429, 502, 503];
  const fields: [string, string][] = [
    ["AUTH_ID", rng.chance(0.9) ? rng.hex(rng.pick([32, 70])) : weird(rng)],
    ["AUTH_EXPIRES", rng.pick(["3600", "0", "86401", "abc"])],
    ["REFRESH_ID", rng.hex(32)],
    ["member_id", known ? ctx.memberId : rng.hex(32)],
    [
      "DOMAIN",
      known
        ? rng.pick([ctx.portalDomain, "evil.example"])
        : rng.pick([ctx.portalDomain, "127.0.0.1:1"]),
    ],
    ["PROTOCOL", known ? rng.pick(["0", "1"]) : rng.pick(["0", "0", "1"])],
    ["LANG", rng.pick(["ru", "en", "xx1"])],
    [
      "SERVER_ENDPOINT",
      rng.pick(["https://oauth.bitrix.info/rest/", "javascript:alert(1)", "http://evil.example/"]),
    ],
  ];
  if (rng.chance(0.15)) {
    const q = new URLSearchParams(fields).toString();
    return {
      method: "GET",
      path: `/install?${q}`,
      headers: {},
      allowed,
      kind: "GET with forged query",
    };
  }
  const r = formRoute("/install", allowed, () => fields)(rng, ctx);
  return { ...r, kind: `${known ? "known" : "unknown"} member: ${r.kind}` };
}

/** The JSON frame APIs: forged frames (401), or an admin's real frame with a broken body (400). */
function frameApi(
  route: string,
  templates: Record<string, unknown>[],
  breakers: Record<string, unknown[]>,
) {
  return (rng: Random, ctx: Ctx): Hostile => {
    if (rng.chance(0.03)) {
      return {
        method: rng.pick(OTHER_METHODS),
        path: route,
        headers: {},
        allowed: [404],
        kind: "method",
      };
    }
    if (rng.chance(0.05)) {
      const frame = rng.chance(0.5)
        ? { authorization: `Bearer ${ctx.adminToken}`, "x-member-id": ctx.memberId }
        : forgedFrame(rng, ctx).headers;
      return {
        method: "POST",
        path: route,
        headers: { ...frame, "content-type": "application/json" },
        body: JSON.stringify({ event: "GETME", pad: "x".repeat(BODY_LIMIT) }),
        allowed: [413],
        kind: "huge body",
      };
    }
    const type = rng.chance(0.85)
      ? "application/json"
      : rng.pick([FORM, "text/plain", "application/json; charset=latin1", "multipart/form-data"]);
    if (rng.chance(0.5)) {
      // Forged frame: whatever the body, 401 — or 429 once the portal's budget for asking about
      // unknown tokens is spent (each new token costs one portal call).
      const { headers, kind } = forgedFrame(rng, ctx);
      const body = rng.chance(0.5)
        ? JSON.stringify(rng.pick(templates))
        : JSON.stringify(randomJson(rng));
      return {
        method: "POST",
        path: route,
        headers: { ...headers, "content-type": type },
        body,
        allowed: [401, 429],
        kind: `forged frame: ${kind}`,
      };
    }
    // The administrator's real frame, a body that must not validate.
    const headers = {
      authorization: `Bearer ${ctx.adminToken}`,
      "x-member-id": ctx.memberId,
      "content-type": type,
    };
    const mode = rng.int(0, 3);
    let body: string | Uint8Array<ArrayBuffer>;
    let kind: string;
    if (mode === 0) {
      body = brokenJsonText(rng);
      kind = "broken JSON";
    } else if (mode === 1) {
      // Random JSON whose discriminator is never a real one.
      const value = randomJson(rng);
      body = JSON.stringify(
        value && typeof value === "object" && !Array.isArray(value)
          ? { ...value, event: `X${rng.string(5)}`, phase: `x${rng.string(3)}` }
          : value,
      );
      kind = "random JSON";
    } else {
      // A valid request with exactly one field broken.
      const template = structuredClone(rng.pick(templates));
      const fields = Object.keys(template).filter((k) => k in breakers);
      const field = rng.pick(fields);
      const bad = rng.pick(breakers[field]);
      if (bad === undefined) delete template[field];
      else template[field] = bad;
      body = JSON.stringify(template);
      if (rng.chance(0.3) && body !== "{}") {
        body = '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}},' + body.slice(1);
      }
      kind = `broken ${JSON.stringify(template.event ?? template.phase)}.${field}=${
        JSON.stringify(bad)?.slice(0, 40)
      }`;
    }
    return { method: "POST", path: route, headers, body, allowed: [400], kind };
  };
}

const ACCOUNT = { url: "wss://pbx.example.com/ws", user: "102", password: "p", displayName: "A" };

const notPositiveInt: unknown[] = ["abc", {}, -5, 0, 1.5, 2 ** 40, "1; drop table", null, "", [0]];
const notString: unknown[] = [5, true, null, [], {}, ["a"], { toString: "x" }];

const widgetRoute = frameApi(
  "/api/bitrix/widget",
  [
    { event: "UPDATECREED", clientId: "local.abc", secretId: "s" },
    { event: "GETUSERDATA", userId: 2 },
    { event: "SAVEUSERDATA", userId: 2, ...ACCOUNT },
    { event: "DELETEUSERDATA", userId: 2 },
    { event: "GETUSERSDATA", usersId: [1, 2] },
    { event: "GETPORTALUSERS", search: "a", start: 0 },
    { event: "SAVESETTINGS", settings: { crmCreate: true } },
  ],
  {
    event: [...notString, "getme ", "GETME\u0000", "", "__proto__", undefined],
    clientId: [...notString, "local x", "a".repeat(101), "", undefined],
    secretId: [...notString, "", "s".repeat(201), undefined],
    userId: [...notPositiveInt, undefined],
    url: [
      ...notString,
      "http://evil.example/ws",
      "ws://evil.example/ws",
      "javascript:1",
      "wss://" + "a".repeat(300),
      undefined,
    ],
    user: [...notString, "a b", "", "x".repeat(65), "<script>", undefined],
    password: [...notString, "", "x".repeat(129)],
    displayName: [...notString, "x".repeat(101)],
    usersId: ["1,2", { 0: 1 }, [1, "x"], [-1], Array(201).fill(1), null, undefined],
    search: [...notString, "x".repeat(101)],
    start: ["abc", -1, 100_001, 1.5, {}],
    settings: ["x", 5, [], null, { crmCreate: "yes" }, { iceServers: [{ urls: "http://x" }] }, {
      iceServers: "stun:x",
    }, undefined],
  },
);

const callsPost = frameApi(
  "/api/calls",
  [
    { phase: "start", sipCallId: "a@b", direction: "outbound", number: "+74951234567" },
    {
      phase: "start",
      sipCallId: "a@b",
      direction: "inbound",
      number: "101",
      bitrixCallId: "externalCall.1",
    },
    { phase: "answer", sipCallId: "a@b" },
    { phase: "end", sipCallId: "a@b", sipStatus: 200, durationSec: 5 },
  ],
  {
    phase: [...notString, "START", "", "begin", undefined],
    sipCallId: [...notString, "", "a b", "é@x", "x".repeat(201), "\u0000", undefined],
    direction: [...notString, "sideways", "", undefined],
    number: [...notString, "", "   ", "<script>", "1;2", "x".repeat(65), undefined],
    bitrixCallId: [...notString, "", "x".repeat(201)],
    sipStatus: ["200", 99, 700, 200.5, null, {}, undefined],
    durationSec: ["5", -1, 86_401, 1.5, null, undefined],
  },
);

/** `/api/calls`: reports (POST) as above, or history reads (GET). */
function callsRoute(rng: Random, ctx: Ctx): Hostile {
  if (!rng.chance(0.3)) return callsPost(rng, ctx);
  const q = new URLSearchParams();
  for (let i = rng.int(0, 3); i > 0; i--) {
    const key = rng.pick(["limit", "before", "all", "bitrixCallId", "__proto__", "limit"]);
    q.append(
      key,
      rng.pick([
        "abc",
        "-1",
        "0",
        "201",
        "1e3",
        "2026-13-45T00:00:00Z",
        "1",
        "2",
        "x".repeat(201),
        weird(rng),
      ]),
    );
  }
  if (rng.chance(0.5)) {
    const { headers, kind } = forgedFrame(rng, ctx);
    return {
      method: "GET",
      path: `/api/calls?${q}`,
      headers,
      allowed: [401, 429],
      kind: `GET, forged frame: ${kind}`,
    };
  }
  return {
    method: "GET",
    path: `/api/calls?${q}`,
    headers: { authorization: `Bearer ${ctx.userToken}`, "x-member-id": ctx.memberId },
    allowed: [200, 400, 403],
    kind: "GET, real frame, hostile query",
  };
}

function placementErrorRoute(rng: Random, ctx: Ctx): Hostile {
  const query = (r: Random, c: Ctx) => {
    const q = new URLSearchParams();
    if (r.chance(0.9)) {
      q.set("member_id", r.chance(0.7) ? c.memberId : r.pick([r.hex(32), "__proto__", "a b"]));
    }
    if (r.chance(0.9)) {
      q.set("token", r.chance(0.7) ? r.hex(48) : r.pick(["", r.hex(47), "X".repeat(48), weird(r)]));
    }
    if (r.chance(0.2)) q.set("__proto__[x]", "1");
    return `?${q}`;
  };
  const body = (r: Random): [string, string][] => [
    ["error", r.pick(["ERROR_PLACEMENT_LOADING_OVERTIME", "x".repeat(101), ""])],
    ["error_description", r.pick(["overtime", "x".repeat(1001)])],
  ];
  if (rng.chance(0.15)) {
    return {
      method: "POST",
      path: "/api/bitrix/placement-error" + query(rng, ctx),
      headers: { "content-type": "application/json" },
      body: rng.chance(0.5) ? JSON.stringify(randomJson(rng)) : brokenJsonText(rng),
      allowed: [400, 401],
      kind: "JSON body",
    };
  }
  return formRoute("/api/bitrix/placement-error", [400, 401, 413], body, query)(rng, ctx);
}

function backgroundRoute(rng: Random, ctx: Ctx): Hostile {
  if (rng.chance(0.3)) {
    return {
      method: "GET",
      path: "/placement/background" + pageQuery(rng, ctx),
      headers: {},
      allowed: [200],
      kind: "GET with query",
    };
  }
  return formRoute("/placement/background", [200], pageFields, pageQuery)(rng, ctx);
}

/** `/api/push/ticket` with forged frames (a real frame's ticket is a row, and tables must stay). */
function pushTicketRoute(rng: Random, ctx: Ctx): Hostile {
  if (rng.chance(0.05)) {
    return {
      method: rng.pick(OTHER_METHODS),
      path: "/api/push/ticket",
      headers: {},
      allowed: [404],
      kind: "method",
    };
  }
  const { headers, kind } = forgedFrame(rng, ctx);
  return {
    method: "POST",
    path: "/api/push/ticket",
    headers: { ...headers, "content-type": "application/json" },
    body: rng.chance(0.5) ? JSON.stringify(randomJson(rng)) : undefined,
    allowed: [401, 429],
    kind: `forged frame: ${kind}`,
  };
}

/** `/api/push/stream` with made-up, malformed or missing tickets and resume ids. */
function pushStreamRoute(rng: Random, _ctx: Ctx): Hostile {
  const q = new URLSearchParams();
  if (rng.chance(0.9)) {
    q.set(
      "ticket",
      rng.pick(["", rng.hex(43), "A".repeat(43), "A".repeat(44), "__proto__", weird(rng)]),
    );
  }
  if (rng.chance(0.3)) q.set("lastEventId", rng.pick(["-1", "x", "99999999999", weird(rng)]));
  return {
    method: "GET",
    path: `/api/push/stream?${q}`,
    headers: rng.chance(0.3)
      ? { "last-event-id": rng.pick(["0", "-1", "abc", "9".repeat(20)]) }
      : {},
    allowed: [401],
    kind: "no valid ticket",
  };
}

const ROUTES: Record<string, (rng: Random, ctx: Ctx) => Hostile> = {
  "/": indexRoute,
  "/install": installRoute,
  "/api/bitrix/install": formRoute(
    "/api/bitrix/install",
    [401, 413],
    (rng, ctx) =>
      eventBase(
        rng,
        ctx,
        rng.chance(0.9) ? "ONAPPINSTALL" : rng.pick(["onappinstall", "ONAPPUNINSTALL", "X"]),
      ),
  ),
  "/api/bitrix/callback": formRoute(
    "/api/bitrix/callback",
    [401, 413],
    (rng, ctx) =>
      eventBase(
        rng,
        ctx,
        rng.pick([
          "ONAPPUNINSTALL",
          "ONEXTERNALCALLSTART",
          "onappuninstall",
          "ONAPPINSTALL",
          "OnCrmLeadAdd",
        ]),
      ),
  ),
  "/api/bitrix/placement-error": placementErrorRoute,
  "/api/bitrix/widget": widgetRoute,
  "/api/calls": callsRoute,
  "/api/push/ticket": pushTicketRoute,
  "/api/push/stream": pushStreamRoute,
  "/placement/background": backgroundRoute,
};

// ---------------------------------------------------------------------------------------------
// The test

function describe(r: Hostile): string {
  const body = r.body === undefined
    ? ""
    : typeof r.body === "string"
    ? r.body.slice(0, 200)
    : `<${r.body.length} bytes>`;
  return `[seed ${SEED}] ${r.method} ${r.path.slice(0, 200)} (${r.kind}) headers=${
    JSON.stringify(r.headers).slice(0, 200)
  } body=${JSON.stringify(body)}`;
}

Deno.test({
  name: "[reliability] 1,000 hostile requests per route: only the allowed 4xx, no trace, no change",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async (logs) => {
      // PGlite in memory (each run starts clean); the emulator without its rate limit, since
      // every forged frame token costs one portal call (see the README).
      await using h = await startBitrixHarness({ portal: { rateLimit: false } });
      assertEquals((await h.install()).status, 200);
      const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
      const frame = (userId: number) => ({
        authorization: `Bearer ${h.portal.issueTokens({ userId }).accessToken}`,
        "x-member-id": h.portal.memberId,
      });
      const adminFrame = frame(ADMIN);
      const post = (body: unknown) =>
        fetch(`${h.app.url}/api/bitrix/widget`, {
          method: "POST",
          headers: { ...adminFrame, "content-type": "application/json" },
          body: JSON.stringify(body),
        }).then(async (r) => (await r.body?.cancel(), r.status));
      assertEquals(await post({ event: "UPDATECREED", ...creds }), 200);
      assertEquals(await post({ event: "SAVEUSERDATA", userId: 2, ...ACCOUNT }), 200);
      const userFrame = frame(2);
      const ctx: Ctx = {
        memberId: h.portal.memberId,
        portalDomain: h.portal.domain,
        adminToken: adminFrame.authorization.slice("Bearer ".length),
        userToken: userFrame.authorization.slice("Bearer ".length),
      };
      // The employee's page has loaded (her token is verified) before the flood starts.
      const me = await fetch(`${h.app.url}/api/bitrix/widget`, {
        method: "POST",
        headers: { ...userFrame, "content-type": "application/json" },
        body: JSON.stringify({ event: "GETME" }),
      });
      assertEquals(me.status, 200);
      await me.body?.cancel();

      const db = h.app.services.database;
      const before = await snapshotDatabase(db);
      const rng = new Random(SEED);
      const requests = Object.values(ROUTES).flatMap((gen) =>
        Array.from({ length: PER_ROUTE }, () => gen(rng, ctx))
      );
      const failures: string[] = [];
      const statuses = new Map<string, number>();
      await pool(requests, CONCURRENCY, async (r) => {
        let status: number;
        let text: string;
        let type: string;
        try {
          const res = await fetch(`${h.app.url}${r.path}`, {
            method: r.method,
            headers: r.headers,
            body: r.body,
            redirect: "manual",
          });
          status = res.status;
          type = res.headers.get("content-type") ?? "";
          text = await res.text();
        } catch (err) {
          failures.push(`${describe(r)} → fetch failed: ${err}`);
          return;
        }
        const route = r.path.replace(/\?.*$/, "");
        statuses.set(`${route} ${status}`, (statuses.get(`${route} ${status}`) ?? 0) + 1);
        const problems: string[] = [];
        if (!r.allowed.includes(status)) problems.push(`status ${status} not in ${r.allowed}`);
        const trace = stackTraceIn(text);
        if (trace) problems.push(`body matches ${trace}: ${text.slice(0, 300)}`);
        if (route === "/" && status === 200 && text.includes("data-island")) {
          problems.push("a hostile request got the phone page");
        }
        if (status >= 400 && route.startsWith("/api/") && status !== 404) {
          try {
            const body = JSON.parse(text);
            if (typeof body?.error?.code !== "string") {
              problems.push(`not the error shape: ${text.slice(0, 200)}`);
            }
            if (status === 401 && route.startsWith("/api/bitrix/") && body?.error?.details) {
              problems.push(`a 401 with details: ${text.slice(0, 200)}`);
            }
          } catch {
            problems.push(`error body is not JSON (${type}): ${text.slice(0, 200)}`);
          }
        }
        if (problems.length) failures.push(`${describe(r)} → ${problems.join("; ")}`);
      });

      const summary = [...statuses].sort().map(([k, n]) => `${k}: ${n}`).join(", ");
      if (Deno.env.get("RELIABILITY_VERBOSE")) console.log(`statuses: ${summary}`);
      assertEquals(
        failures.slice(0, 20),
        [],
        `${failures.length} bad answers; statuses: ${summary}`,
      );
      assertEquals(requests.length, PER_ROUTE * Object.keys(ROUTES).length);

      // Still up and ready, nothing written, nothing crashed inside.
      assertEquals(
        await fetch(`${h.app.url}/healthz`).then(async (r) => (await r.body?.cancel(), r.status)),
        200,
      );
      assertEquals((await readiness(h.app.url)).status, 200);
      const after = await snapshotDatabase(db);
      assertEquals(after, before, "the database changed");
      // Only the dead portals an unknown installer named may be logged (as the 502 they got),
      // and first installs over the cap (503).
      const crashes = logs.filter((l) => l.includes('"request failed"')).filter((l) => {
        const line = JSON.parse(l);
        const expected = ["UpstreamError", "UnavailableError"].includes(line.error?.name);
        return !(line.path === "/install" && expected);
      });
      assertEquals(crashes.slice(0, 5), [], "5xx logged");
      // The real frames still work afterwards.
      assertEquals(await post({ event: "GETME" }), 200);
    }),
});

/** Requests no HTTP client library would send, written on the socket. */
const RAW_REQUESTS: string[] = [
  "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
  "POST /api/bitrix/callback HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n0123456789",
  "POST /api/bitrix/callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
  'POST /api/bitrix/widget HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event"',
  "GET /\u00ff\u00fe HTTP/1.1\r\nHost: x\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\n\r\n",
  "GARBAGE\r\n\r\n",
  "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
  "GET /api/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u00ff\u00fe\r\nX-Member-Id: \u00e9\r\n\r\n",
  `GET / HTTP/1.1\r\nHost: x\r\nX-Long: ${"a".repeat(100_000)}\r\n\r\n`,
  "POST /api/bitrix/callback HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" +
  "Content-Type: application/x-www-form-urlencoded\r\n\r\n" +
  "100000\r\n" + "a".repeat(1000) + "\r\n",
];

Deno.test({
  name: "[reliability] malformed HTTP on the socket: 4xx or a closed connection, never 5xx",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withCapturedLogs(async () => {
      await using h = await startBitrixHarness({ portal: { rateLimit: false } });
      const { port } = new URL(h.app.url);
      for (const raw of RAW_REQUESTS) {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(port) });
        const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0) & 0xff);
        let answer = "";
        try {
          await conn.write(bytes).catch(() => {});
          const buf = new Uint8Array(4096);
          const timer = setTimeout(() => conn.close(), 3000);
          const n = await conn.read(buf).catch(() => null);
          clearTimeout(timer);
          answer = n ? new TextDecoder().decode(buf.subarray(0, n)) : "";
        } finally {
          try {
            conn.close();
          } catch {
            // closed by the timer or the server
          }
        }
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1];
        if (Deno.env.get("RELIABILITY_VERBOSE")) {
          console.log(`${JSON.stringify(raw.slice(0, 60))} → ${status ?? "closed"}`);
        }
        assert(
          status === undefined || /^4/.test(status),
          `${JSON.stringify(raw.slice(0, 80))} → ${answer.slice(0, 120)}`,
        );
        assertEquals(stackTraceIn(answer), undefined, answer.slice(0, 300));
      }
      const health = await fetch(`${h.app.url}/healthz`);
      await health.body?.cancel();
      assertEquals(health.status, 200);
    }),
});

// ---------------------------------------------------------------------------------------------
// Takeover attempts by an employee (issue 12): real tokens, real application token, one by one

const ANNA = 2;
const APP_TOKEN_EVENTS = { sanitizeResources: false, sanitizeOps: false };

/** The harness on real PostgreSQL (PGlite where PostgreSQL is absent), with a portal installed. */
async function withInstalledPortal(fn: (h: BitrixHarness) => Promise<void>): Promise<void> {
  await using pg = await startPostgresIfInstalled();
  await using h = await startBitrixHarness({
    databaseUrl: pg?.url,
    portal: { rateLimit: false },
  });
  assertEquals((await h.install()).status, 200);
  const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
  assertEquals(await status(h.widget(ADMIN, { event: "UPDATECREED", ...creds })), 200);
  assertEquals(
    await status(h.widget(ADMIN, { event: "SAVEUSERDATA", userId: ANNA, ...ACCOUNT })),
    200,
  );
  const start = { phase: "start", sipCallId: "c1@pbx", direction: "outbound", number: "+7495" };
  assertEquals(await status(h.calls(ANNA, { body: start })), 200);
  await fn(h);
}

async function status(res: Promise<Response>): Promise<number> {
  const r = await res;
  await r.body?.cancel();
  return r.status;
}

/** The portal row's secrets as stored (hashes and ciphertexts compared as they are). */
async function storedSecrets(h: BitrixHarness) {
  const rows = await h.app.services.database.db.select({
    applicationTokenHash: portals.applicationTokenHash,
    accessTokenEnc: portals.accessTokenEnc,
    refreshTokenEnc: portals.refreshTokenEnc,
  }).from(portals);
  return rows;
}

async function counts(h: BitrixHarness) {
  const db = h.app.services.database.db;
  return {
    portals: (await db.select().from(portals)).length,
    accounts: (await db.select().from(sipAccounts)).length,
    calls: (await db.select().from(callsTable)).length,
  };
}

Deno.test({
  name: "[reliability] an employee's forged ONAPPINSTALL / ONAPPUNINSTALL changes nothing",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs((logs) =>
      withInstalledPortal(async (h) => {
        const { portal, app } = h;
        const before = await storedSecrets(h);
        const kept = await counts(h);
        assertEquals(kept, { portals: 1, accounts: 1, calls: 1 });

        // Her own real tokens, an application token of her choosing, the real one.
        for (const applicationToken of ["anna-chose-this", portal.app.applicationToken]) {
          const forged = await portal.deliverEvent({
            url: `${app.url}/api/bitrix/install`,
            event: "ONAPPINSTALL",
            userId: ANNA,
            withRefreshToken: true,
            applicationToken,
          });
          const expected = applicationToken === portal.app.applicationToken ? 200 : 401;
          assertEquals(forged.status, expected, applicationToken);
        }
        // Even an administrator's tokens do not replace a stored token.
        const adminForged = await portal.deliverEvent({
          url: `${app.url}/api/bitrix/install`,
          event: "ONAPPINSTALL",
          applicationToken: "admin-chose-this",
        });
        assertEquals(adminForged.status, 401);
        assertEquals(await storedSecrets(h), before);

        // ONAPPUNINSTALL CLEAN=1 with the real application token while the app is installed.
        for (const CLEAN of ["1", "0"]) {
          const wipe = await portal.deliverEvent({
            url: `${app.url}/api/bitrix/callback`,
            event: "ONAPPUNINSTALL",
            data: { CLEAN },
          });
          assertEquals(wipe.status, 403);
        }
        assertEquals(await counts(h), kept);
        assertEquals(await storedSecrets(h), before);
        assertEquals(await status(h.widget(ANNA, { event: "GETME" })), 200);
        const refused = logs.filter((l) => l.includes("forged uninstall refused"));
        assert(refused.length >= 2);
        assert(logs.some((l) => JSON.parse(l).event === "bitrix24 install event refused"));

        // The genuine uninstall afterwards is honoured.
        const [genuine] = await portal.uninstallApp({ clean: true });
        assertEquals(genuine.status, 200);
        assertEquals(await counts(h), { portals: 0, accounts: 0, calls: 0 });
      })
    ),
});

Deno.test({
  name: "[reliability] a real uninstall while the portal is unreachable is done once it answers",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal } = h;
        portal.setFault({ kind: "503", method: "*" });
        const [event] = await portal.uninstallApp({ clean: false });
        assertEquals(event.status, 202);
        assertEquals((await counts(h)).accounts, 1, "nothing is deleted on an outage");
        const row = async () => (await h.app.services.database.db.select().from(portals))[0];
        assertEquals((await row()).installed, true);
        portal.clearFaults();
        await waitFor("the pending uninstall is done", async () => !(await row()).installed);
        assertEquals((await row()).accessTokenEnc, null);
        assertEquals((await row()).applicationTokenHash, null);
        assertEquals(h.app.services.bitrix.uninstaller.pendingPortals(), []);
      })
    ),
});

Deno.test({
  name:
    "[reliability] a lost ONAPPINSTALL is recovered from an administrator's page, not an employee's",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(async () => {
      const pg = noPostgres ? undefined : await startPostgres();
      try {
        await using h = await startBitrixHarness({
          databaseUrl: pg?.url,
          portal: { rateLimit: false },
        });
        const { portal, app } = h;
        const { page } = await portal.installApp({ handlerUrl: `${app.url}/install` });
        assertEquals(await status(page!.post()), 200);
        // The single ONAPPINSTALL is lost: its handler's delivery never happens.
        const bound = [...portal.state.eventHandlers];
        portal.state.eventHandlers.splice(
          0,
          bound.length,
          ...bound.filter((b) => b.event !== "ONAPPINSTALL"),
        );
        await portal.finishInstall();
        portal.state.eventHandlers.splice(0, portal.state.eventHandlers.length, ...bound);
        const hash = async () => (await storedSecrets(h))[0].applicationTokenHash;
        assertEquals(await hash(), null);
        const click = async () =>
          (await portal.clickToCall({ userId: ANNA, phoneNumber: "+7495" })).events[0].status;
        assertEquals(await click(), 401);

        // An employee's ONAPPINSTALL (her real tokens) during the admin's install: refused.
        const hers = await portal.deliverEvent({
          url: `${app.url}/api/bitrix/install`,
          event: "ONAPPINSTALL",
          userId: ANNA,
          applicationToken: portal.app.applicationToken,
        });
        assertEquals(hers.status, 401);
        // Her page load carries the token too (newer templates): nothing is stored.
        const load = (userId: number) =>
          status(
            portal.pageLoad({ handlerUrl: `${app.url}/`, userId, frameFields: "docs" }).post(),
          );
        assertEquals(await load(ANNA), 200);
        assertEquals(await hash(), null);
        assertEquals(await click(), 401);
        // The administrator's page load: the portal confirmed the token for an administrator.
        assertEquals(await load(ADMIN), 200);
        assert(await hash());
        assertEquals(await click(), 200);
      } finally {
        await pg?.close();
      }
    }),
});

Deno.test({
  name: "[reliability] events without auth get 401 with no details; frame APIs 401 before the body",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal, app } = h;
        const post = (path: string, body: string, type = FORM, headers = {}) => {
          return readJson(fetch(`${app.url}${path}`, {
            method: "POST",
            headers: { "content-type": type, ...headers },
            body,
          }));
        };
        for (const path of ["/api/bitrix/callback", "/api/bitrix/install"]) {
          for (
            const [body, type] of [
              ["event=ONAPPUNINSTALL&data[CLEAN]=1", FORM],
              ["event=ONAPPINSTALL&data[VERSION][x]=1&auth[member_id]=%00", FORM],
              [`event=ONAPPUNINSTALL&auth[member_id]=${portal.memberId}`, FORM],
              ['{"event":"ONAPPUNINSTALL","auth":{}}', "application/json"],
              ["not a form", "text/plain"],
            ]
          ) {
            const answer = await post(path, body, type);
            assertEquals(answer.status, 401, `${path} ${body}`);
            assertEquals(answer.body.error.details, undefined, `${path} ${body}`);
          }
        }
        // A verified portal's malformed data: 400 with details.
        const auth =
          `auth[member_id]=${portal.memberId}&auth[application_token]=${portal.app.applicationToken}`;
        const bad = await post(
          "/api/bitrix/callback",
          `event=ONEXTERNALCALLSTART&${auth}&data[USER_ID]=abc`,
        );
        assertEquals(bad.status, 400);
        assert(bad.body.error.details);
        // Frame APIs: no credentials and a broken body → 401, never a validation answer.
        for (const path of ["/api/bitrix/widget", "/api/calls"]) {
          const answer = await post(path, '{"event":', "application/json");
          assertEquals(answer.status, 401, path);
          assertEquals(answer.body.error.details, undefined);
          const forged = await post(path, '{"event":5}', "application/json", {
            authorization: "Bearer forged-token",
            "x-member-id": portal.memberId,
          });
          assertEquals(forged.status, 401, path);
        }
        assertEquals(await counts(h), { portals: 1, accounts: 1, calls: 1 });
      })
    ),
});

Deno.test({
  name: "[reliability] a journal report cannot claim another employee's Bitrix24 call",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal } = h;
        const { callId } = await portal.clickToCall({ userId: ADMIN, phoneNumber: "+74951112233" });
        const claim = {
          phase: "start",
          sipCallId: "steal@pbx",
          direction: "outbound",
          number: "+74951112233",
          bitrixCallId: callId,
        };
        assertEquals(await status(h.calls(ANNA, { body: claim })), 404);
        const row = await h.app.services.calls.findByBitrixCallId(
          (await storedPortal(h)).id,
          callId,
        );
        assertEquals(row?.bitrixUserId, ADMIN);
        assertEquals(portal.records.calls("telephony.externalcall.finish").length, 0);
        // A body's user id never replaces the verified one.
        const me = await (await h.widget(ANNA, { event: "GETME", userId: ADMIN })).json();
        assertEquals([me.userId, me.isAdmin], [ANNA, false]);
      })
    ),
});

async function storedPortal(h: BitrixHarness) {
  return (await h.app.services.database.db.select().from(portals))[0];
}

Deno.test({
  name:
    "[reliability] a dead server-side token pair is renewed by an administrator's page load only",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal, app } = h;
        // 180 days unused: the access token is expired and the refresh answers invalid_grant.
        portal.expireAllTokens();
        portal.expireRefreshTokens();
        const users = () => status(h.widget(ADMIN, { event: "GETPORTALUSERS" }));
        assert((await users()) >= 400);
        assertEquals((await storedPortal(h)).refreshTokenEnc, null);
        const getMe = async () => (await (await h.widget(ADMIN, { event: "GETME" })).json()).portal;
        await waitFor(
          "GETME says the pair is dead",
          async () => (await getMe()).serverTokens === false,
        );

        const page = async (userId: number) => {
          const res = await portal.pageLoad({ handlerUrl: `${app.url}/`, userId }).post();
          return { status: res.status, html: await res.text() };
        };
        const hers = await page(ANNA);
        assertEquals(hers.status, 200);
        assertEquals(
          (await storedPortal(h)).refreshTokenEnc,
          null,
          "an employee's page stores nothing",
        );
        // An administrator's page without a refresh token cannot renew it: the panel says so.
        const bare = portal.pageLoad({ handlerUrl: `${app.url}/`, userId: ADMIN });
        const { REFRESH_ID: _, ...withoutRefresh } = bare.fields;
        const warned = await fetch(bare.url, {
          method: "POST",
          body: new URLSearchParams(withoutRefresh),
        });
        const warnedHtml = await warned.text();
        assertEquals(warned.status, 200);
        assert(warnedHtml.includes('data-testid="server-tokens-dead"'), "the admin panel warns");
        assertEquals((await storedPortal(h)).refreshTokenEnc, null);
        const admin = await page(ADMIN);
        assertEquals(admin.status, 200);
        assertEquals(admin.html.includes('data-testid="server-tokens-dead"'), false);
        assert((await storedPortal(h)).refreshTokenEnc, "the admin's page renewed the pair");
        assertEquals(await users(), 200);
        await waitFor(
          "GETME says the pair is alive",
          async () => (await getMe()).serverTokens === true,
        );
      })
    ),
});

Deno.test({
  name:
    "[reliability] after an app update the bindings are back: click-to-call and uninstall arrive",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal } = h;
        const [update] = await portal.updateApp();
        assertEquals(update.event, "ONAPPUPDATE");
        assertEquals(update.status, 200);
        const events = portal.state.eventHandlers.map((e) => e.event).sort();
        assertEquals(events, [
          "ONAPPINSTALL",
          "ONAPPUNINSTALL",
          "ONAPPUPDATE",
          "ONEXTERNALCALLSTART",
        ]);
        assertEquals(portal.state.placements.map((p) => p.placement).sort(), [
          "LEFT_MENU",
          "PAGE_BACKGROUND_WORKER",
        ]);
        const click = await portal.clickToCall({ userId: ANNA, phoneNumber: "+74957654321" });
        assertEquals(click.events.map((e) => [e.event, e.status]), [["ONEXTERNALCALLSTART", 200]]);
        const [gone] = await portal.uninstallApp({ clean: true });
        assertEquals(gone.status, 200);
        assertEquals(await counts(h), { portals: 0, accounts: 0, calls: 0 });
      })
    ),
});

Deno.test({
  name: "[reliability] a reinstall after a lost ONAPPUNINSTALL takes the new application token",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal } = h;
        const oldToken = portal.app.applicationToken;
        // The uninstall event is lost: its handler's delivery never happens.
        portal.state.eventHandlers.splice(
          0,
          portal.state.eventHandlers.length,
          ...portal.state.eventHandlers.filter((b) => b.event !== "ONAPPUNINSTALL"),
        );
        assertEquals(await portal.uninstallApp({ clean: false }), []);
        assertEquals((await h.install()).status, 200);
        assert(portal.app.applicationToken !== oldToken);
        assertEquals(portal.records.events("ONAPPINSTALL").at(-1)?.status, 200);
        const click = await portal.clickToCall({ userId: ANNA, phoneNumber: "+74957654321" });
        assertEquals(click.events.map((e) => e.status), [200]);
        const stale = await portal.deliverEvent({
          url: `${h.app.url}/api/bitrix/callback`,
          event: "ONAPPUNINSTALL",
          data: { CLEAN: "1" },
          applicationToken: oldToken,
        });
        assertEquals(stale.status, 401);
        assertEquals((await counts(h)).accounts, 1);
      })
    ),
});

Deno.test({
  name: "[reliability] a pending uninstall survives a restart and is done once the portal answers",
  ignore: noPostgres,
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(async () => {
      const pg = (await startPostgres())!;
      try {
        const key = generateKey();
        const h = await startBitrixHarness({
          databaseUrl: pg.url,
          portal: { rateLimit: false },
          env: { ENCRYPTION_KEY: key },
        });
        assertEquals((await h.install()).status, 200);
        h.portal.setFault({ kind: "503", method: "*" });
        const [event] = await h.portal.uninstallApp({ clean: true });
        assertEquals(event.status, 202);
        await h.app.close();
        h.portal.clearFaults();
        await using restarted = await h.anotherInstance();
        const db = restarted.services.database.db;
        assertEquals((await db.select().from(portals)).length, 1);
        await restarted.services.bitrix.uninstaller.resume();
        await waitFor("the resumed uninstall is done", async () =>
          (await db.select().from(portals)).length === 0);
        await h.portal.close();
      } finally {
        await pg.close();
      }
    }),
});

Deno.test({
  name:
    "[reliability] a flood of forged ONAPPUNINSTALL asks the portal a few times; a genuine one is still done",
  ...APP_TOKEN_EVENTS,
  fn: () =>
    withCapturedLogs(() =>
      withInstalledPortal(async (h) => {
        const { portal, app } = h;
        const asked = portal.records.calls("app.info").length;
        const flood = await Promise.all(Array.from({ length: 20 }, () =>
          portal.deliverEvent({
            url: `${app.url}/api/bitrix/callback`,
            event: "ONAPPUNINSTALL",
            data: { CLEAN: "1" },
          })));
        assertEquals(new Set(flood.map((e) => e.status)), new Set([403]));
        assert(
          portal.records.calls("app.info").length - asked <= 6,
          "the portal is asked ≤ 6 times",
        );
        assertEquals(await counts(h), { portals: 1, accounts: 1, calls: 1 });
        // The genuine uninstall right after the flood: done (at once or at the re-check).
        await portal.uninstallApp({ clean: true });
        await waitFor("the genuine uninstall is done", async () => (await counts(h)).portals === 0);
        assertEquals(await counts(h), { portals: 0, accounts: 0, calls: 0 });
      })
    ),
});
