import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { isApiPath, securityHeaderLists } from "./security_headers.ts";

const PORTALS = ["https://*.bitrix24.ru", "https://*.bitrix24.com"];

/** The directives of a Content-Security-Policy, by name. */
function directives(policy: string): Record<string, string> {
  return Object.fromEntries(
    policy.split("; ").map((d) => {
      const [name, ...values] = d.split(" ");
      return [name, values.join(" ")];
    }),
  );
}

function policyOf(list: readonly (readonly [string, string])[]): string {
  const found = list.filter(([name]) => name === "Content-Security-Policy");
  assertEquals(found.length, 1, "one policy per response");
  return found[0][1];
}

Deno.test("[security headers] documents: framed by the app and the portals only", () => {
  const { document } = securityHeaderLists({
    frameAncestors: PORTALS,
    allowInsecurePortals: false,
  });
  assertEquals(directives(policyOf(document)), {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: https:",
    "connect-src": "'self' wss: https:",
    "media-src": "'self' blob:",
    "worker-src": "'self'",
    "frame-ancestors": "'self' https://*.bitrix24.ru https://*.bitrix24.com",
    "base-uri": "'none'",
    "form-action": "'self'",
  });
});

Deno.test("[security headers] a development portal on plain HTTP may be connected to", () => {
  const strict = securityHeaderLists({ frameAncestors: [], allowInsecurePortals: false });
  const insecure = securityHeaderLists({ frameAncestors: [], allowInsecurePortals: true });
  assertEquals(directives(policyOf(strict.document))["connect-src"], "'self' wss: https:");
  assertEquals(
    directives(policyOf(insecure.document))["connect-src"],
    "'self' wss: https: ws: http:",
  );
  assertEquals(directives(policyOf(strict.document))["frame-ancestors"], "'self'");
  assertEquals(insecure.api, strict.api, "API answers do not depend on the portals");
});

Deno.test("[security headers] API answers: nothing may load or frame them", () => {
  const { api } = securityHeaderLists({ frameAncestors: PORTALS, allowInsecurePortals: true });
  assertEquals(policyOf(api), "default-src 'none'; frame-ancestors 'none'");
});

Deno.test("[security headers] both kinds share the transport and referrer headers", () => {
  const { document, api } = securityHeaderLists({
    frameAncestors: PORTALS,
    allowInsecurePortals: false,
  });
  const others = (list: readonly (readonly [string, string])[]) =>
    list.filter(([name]) => name !== "Content-Security-Policy");
  assertEquals(others(document), [
    ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
    ["X-Content-Type-Options", "nosniff"],
    ["Referrer-Policy", "strict-origin-when-cross-origin"],
  ]);
  assertEquals(others(api), others(document));
  const names = [...document, ...api].map(([name]) => name.toLowerCase());
  // Framing is governed by frame-ancestors; X-Frame-Options would forbid the portals' frames.
  assert(!names.includes("x-frame-options"));
});

Deno.test("[security headers] which paths count as API answers", () => {
  for (const path of ["/api/calls", "/api/bitrix/widget", "/healthz", "/readyz", "/metrics"]) {
    assert(isApiPath(path), path);
  }
  for (
    const path of ["/", "/install", "/placement/background", "/static/style.css", "/api", "/nope"]
  ) {
    assert(!isApiPath(path), path);
  }
  assert(!isApiPath("/healthz/x"), "probes match exactly");
});
