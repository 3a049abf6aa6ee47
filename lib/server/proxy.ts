/**
 * Who is on the other end of a request: the client address, scheme and host, taken from
 * `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` only when the app is told to
 * trust a proxy (`TRUST_PROXY=true`) **and** the TCP peer is one of the trusted proxy
 * addresses. Anyone else's forwarded headers are ignored, so a client that reaches the app
 * directly cannot spoof its address or pretend to have come over HTTPS.
 *
 * The bundled nginx appends the address it saw to `X-Forwarded-For` and sets the other two
 * headers; the rightmost `X-Forwarded-For` entry is therefore the one written by the trusted
 * proxy, and entries to its left were written by the client (untrusted).
 *
 * @example
 * ```ts
 * app.use(async (c, next) => {
 *   const client = resolveClient(c.req.raw, peerAddress(c.env), {
 *     trustProxy: config.TRUST_PROXY,
 *   });
 *   c.set("client", client); // { ip, proto, host, viaProxy }
 *   await next();
 * });
 * ```
 *
 * @module
 */

/** Proxy addresses trusted when none are given: loopback and private networks (compose). */
const DEFAULT_TRUSTED_PROXIES: readonly string[] = [
  "127.0.0.0/8",
  "::1/128",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "fc00::/7",
];

/** Options of {@link resolveClient}. */
export interface ProxyOptions {
  /** Whether forwarded headers may be trusted at all (`TRUST_PROXY`). */
  trustProxy: boolean;
  /** CIDRs (or single addresses) of the proxies. @defaultValue DEFAULT_TRUSTED_PROXIES */
  trustedProxies?: readonly string[];
}

/** The client as the app should see it. */
export interface ClientInfo {
  /** The client's IP address (the TCP peer unless a trusted proxy said otherwise). */
  ip: string;
  /** `https` when the client connected over TLS (to the proxy), else `http`. */
  proto: "http" | "https";
  /** The host the client asked for (no port unless the proxy sent one). */
  host: string;
  /** Whether the values came from a trusted proxy's headers. */
  viaProxy: boolean;
}

/** The TCP peer address of `Deno.serve`'s handler info (Hono's `c.env`), if it is a network peer. */
export function peerAddress(info: unknown): string | undefined {
  const addr = (info as { remoteAddr?: Deno.Addr } | undefined)?.remoteAddr;
  return addr && (addr.transport === "tcp" || addr.transport === "udp") ? addr.hostname : undefined;
}

/**
 * Resolves the client of `req` received from TCP peer `peer`: forwarded headers are used only
 * when `trustProxy` is set and `peer` is a trusted proxy; malformed header values are ignored
 * one by one (falling back to what the connection itself says).
 */
export function resolveClient(
  req: { url: string; headers: Headers },
  peer: string | undefined,
  options: ProxyOptions,
): ClientInfo {
  const url = new URL(req.url);
  const direct: ClientInfo = {
    ip: peer ? unmapIpv4(peer) : "",
    proto: url.protocol === "https:" ? "https" : "http",
    host: url.host,
    viaProxy: false,
  };
  if (!options.trustProxy || !peer || !isTrustedProxy(peer, options.trustedProxies)) {
    return direct;
  }
  const ip = lastEntry(req.headers.get("x-forwarded-for"));
  const proto = lastEntry(req.headers.get("x-forwarded-proto"))?.toLowerCase();
  const host = lastEntry(req.headers.get("x-forwarded-host"));
  return {
    ip: ip && parseIp(ip) ? unmapIpv4(ip) : direct.ip,
    proto: proto === "https" || proto === "http" ? proto : direct.proto,
    host: host && HOST.test(host) ? host.toLowerCase() : direct.host,
    viaProxy: true,
  };
}

/** Whether `address` falls in one of `cidrs` (single addresses count as /32 or /128). */
export function isTrustedProxy(
  address: string,
  cidrs: readonly string[] = DEFAULT_TRUSTED_PROXIES,
): boolean {
  const ip = parseIp(unmapIpv4(address));
  if (!ip) return false;
  return cidrs.some((cidr) => {
    const [base, bitsText] = cidr.split("/");
    const net = parseIp(base);
    if (!net || net.length !== ip.length) return false;
    const bits = bitsText === undefined ? net.length * 8 : Number(bitsText);
    if (!Number.isInteger(bits) || bits < 0 || bits > net.length * 8) return false;
    for (let i = 0; i < net.length; i++) {
      const left = Math.max(0, Math.min(8, bits - i * 8));
      const mask = left === 0 ? 0 : (0xff << (8 - left)) & 0xff;
      if ((ip[i] & mask) !== (net[i] & mask)) return false;
    }
    return true;
  });
}

/** Whether `address` is a loopback address (the client is on this host). */
export function isLoopback(address: string): boolean {
  return isTrustedProxy(address, ["127.0.0.0/8", "::1/128"]);
}

/** `host` or `host:port`, a DNS name or an IPv4 address, or a bracketed IPv6 address. */
const HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,62})(?:\.[a-z0-9](?:[a-z0-9-]{0,62}))*|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function lastEntry(header: string | null): string | undefined {
  const entry = header?.split(",").at(-1)?.trim();
  return entry || undefined;
}

/** `::ffff:10.0.0.1` → `10.0.0.1` (dual-stack sockets report IPv4 peers this way). */
function unmapIpv4(address: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return m ? m[1] : address;
}

/** The bytes of an IPv4 (4) or IPv6 (16) address, or undefined when it is not one. */
function parseIp(text: string): Uint8Array | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split(".").map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : undefined;
  }
  if (!/^[0-9a-f:.]+$/i.test(text) || !text.includes(":")) return undefined;
  let body = text;
  const v4 = /(?<=:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4) {
    const b = parseIp(v4[1]);
    if (!b) return undefined;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    body = text.slice(0, v4.index) + `${hex(b[0], b[1])}:${hex(b[2], b[3])}`;
  }
  const halves = body.split("::");
  if (halves.length > 2) return undefined;
  const group = (s: string) => (s === "" ? [] : s.split(":"));
  const head = group(halves[0]);
  const rest = halves.length === 2 ? group(halves[1]) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-f]{1,4}$/i.test(g))) return undefined;
  const given = head.length + rest.length;
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined;
  const words = [
    ...head.map((g) => parseInt(g, 16)),
    ...Array(8 - given).fill(0),
    ...rest.map((g) => parseInt(g, 16)),
  ];
  return Uint8Array.from(words.flatMap((w) => [w >> 8, w & 0xff]));
}
