import { assert, assertEquals } from "../../tests/support/assert.ts";
import { isTrustedProxy, peerAddress, resolveClient } from "./proxy.ts";

const spoofed = {
  "x-forwarded-for": "6.6.6.6, 203.0.113.7",
  "x-forwarded-proto": "https",
  "x-forwarded-host": "phone.example.com",
};

function request(headers: Record<string, string> = {}) {
  return new Request("http://10.0.0.5:8000/x", { headers });
}

Deno.test("[proxy] forwarded headers from a trusted proxy give the real client", () => {
  const client = resolveClient(request(spoofed), "172.18.0.4", { trustProxy: true });
  assertEquals(client, {
    ip: "203.0.113.7",
    proto: "https",
    host: "phone.example.com",
    viaProxy: true,
  });
});

Deno.test("[proxy] forwarded headers are ignored without TRUST_PROXY or from other peers", () => {
  const direct = { ip: "198.51.100.9", proto: "http", host: "10.0.0.5:8000", viaProxy: false };
  assertEquals(resolveClient(request(spoofed), "198.51.100.9", { trustProxy: false }), direct);
  assertEquals(resolveClient(request(spoofed), "198.51.100.9", { trustProxy: true }), direct);
  // A private address that is not the configured proxy is not trusted either.
  assertEquals(
    resolveClient(request(spoofed), "172.18.0.9", {
      trustProxy: true,
      trustedProxies: ["172.18.0.4"],
    }).viaProxy,
    false,
  );
  assertEquals(
    resolveClient(request(spoofed), "172.18.0.4", {
      trustProxy: true,
      trustedProxies: ["172.18.0.4"],
    }).ip,
    "203.0.113.7",
  );
});

Deno.test("[proxy] malformed forwarded values fall back to the connection", () => {
  const client = resolveClient(
    request({
      "x-forwarded-for": "not-an-ip",
      "x-forwarded-proto": "gopher",
      "x-forwarded-host": "evil.com/path",
    }),
    "::ffff:127.0.0.1",
    { trustProxy: true },
  );
  assertEquals(client, { ip: "127.0.0.1", proto: "http", host: "10.0.0.5:8000", viaProxy: true });
  const v6 = resolveClient(
    request({ "x-forwarded-for": "2001:db8::1", "x-forwarded-host": "[2001:db8::2]:8443" }),
    "::1",
    { trustProxy: true },
  );
  assertEquals([v6.ip, v6.host], ["2001:db8::1", "[2001:db8::2]:8443"]);
});

Deno.test("[proxy] CIDR matching for IPv4, IPv6 and mapped addresses", () => {
  const cases: [string, string[], boolean][] = [
    ["127.0.0.1", ["127.0.0.0/8"], true],
    ["128.0.0.1", ["127.0.0.0/8"], false],
    ["172.31.255.255", ["172.16.0.0/12"], true],
    ["172.32.0.1", ["172.16.0.0/12"], false],
    ["::ffff:192.168.1.1", ["192.168.0.0/16"], true],
    ["::1", ["::1/128"], true],
    ["::2", ["::1/128"], false],
    ["fd12:3456::1", ["fc00::/7"], true],
    ["fe80::1", ["fc00::/7"], false],
    ["::ffff:0a00:0001", ["::ffff:10.0.0.0/104"], true],
    ["10.0.0.1", ["10.0.0.1"], true],
    ["10.0.0.1", ["0.0.0.0/0"], true],
    ["10.0.0.1", ["::/0"], false],
    ["999.0.0.1", ["0.0.0.0/0"], false],
    ["1:2:3:4:5:6:7:8:9", ["::/0"], false],
    ["1::2::3", ["::/0"], false],
    ["10.0.0.1", ["10.0.0.0/33", "garbage"], false],
  ];
  for (const [address, cidrs, expected] of cases) {
    assertEquals(isTrustedProxy(address, cidrs), expected, `${address} in ${cidrs}`);
  }
});

Deno.test("[proxy] the peer address comes from Deno.serve's handler info", async () => {
  let seen: string | undefined;
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (_, info) => {
    seen = peerAddress(info);
    return new Response("ok");
  });
  await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text();
  assertEquals(seen, "127.0.0.1");
  assert(peerAddress(undefined) === undefined);
});
