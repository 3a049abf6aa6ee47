/**
 * Which addresses the app will ever call as a portal. A portal's address comes from Bitrix24:
 * the OAuth server's `client_endpoint` ("vouched"), or, where nothing can vouch for it (a local
 * app's first install, before its credentials are saved), a `DOMAIN` on the operator's list of
 * portal hosts (`BITRIX_PORTAL_HOSTS`: Bitrix24's cloud domains, on-premise portals). IP
 * literals, `localhost` and other special-use names are never a portal, and everything is https
 * — but on loopback when `BITRIX_ALLOW_INSECURE_PORTALS` (development and tests).
 *
 * @module
 */

/** The address rules (from the configuration). */
export interface PortalAddressPolicy {
  /** `BITRIX_PORTAL_HOSTS`: exact `host[:port]` or `*.domain` patterns. */
  portalHosts: string[];
  /** `BITRIX_ALLOW_INSECURE_PORTALS`: loopback portals, over http too (development only). */
  allowLoopback: boolean;
}

/** A portal's REST root and its host as stored. */
export interface PortalAddress {
  /** `https://<host>/rest/`. */
  clientEndpoint: string;
  /** `host[:port]`. */
  domain: string;
}

/** Names that never belong to a public portal (RFC 6761, RFC 8375, common private suffixes). */
const SPECIAL_USE = /(^|\.)(localhost|local|internal|intranet|lan|home\.arpa|invalid|test)$/;

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** Whether `hostname` (as `URL` normalised it) is an IP literal, and whether it is loopback. */
function ipKind(hostname: string): "none" | "loopback" | "other" {
  if (hostname.startsWith("[")) return hostname === "[::1]" ? "loopback" : "other";
  if (IPV4.test(hostname)) return hostname.startsWith("127.") ? "loopback" : "other";
  return "none";
}

/** Whether `host` (`name[:port]`, lower case) matches one `BITRIX_PORTAL_HOSTS` pattern. */
export function matchesPortalHost(host: string, pattern: string): boolean {
  const p = pattern.toLowerCase();
  if (!p.startsWith("*.")) return host === p;
  const [patternName, patternPort] = p.slice(2).split(":");
  const [name, port] = host.split(":");
  return port === patternPort && name.endsWith(`.${patternName}`);
}

/**
 * The portal address of `url` (a REST root or an origin), or the reason it is refused.
 * `vouched`: Bitrix24's OAuth server named it, so any public host will do; otherwise the host
 * must be on `policy.portalHosts`.
 */
export function checkPortalAddress(
  url: string,
  policy: PortalAddressPolicy,
  vouched: boolean,
): PortalAddress | { refused: string } {
  if (!URL.canParse(url)) return { refused: "not an address" };
  const parsed = new URL(url);
  const host = parsed.host.toLowerCase();
  const ip = ipKind(parsed.hostname);
  const loopback = ip === "loopback" || parsed.hostname === "localhost";
  const address = { clientEndpoint: `${parsed.origin}/rest/`, domain: host };
  if (loopback && policy.allowLoopback) {
    return parsed.protocol === "http:" || parsed.protocol === "https:"
      ? address
      : { refused: "not http(s)" };
  }
  if (parsed.protocol !== "https:") return { refused: "not https" };
  if (parsed.username || parsed.password) return { refused: "credentials in the address" };
  if (ip !== "none") return { refused: "an IP address" };
  if (!parsed.hostname.includes(".") || SPECIAL_USE.test(parsed.hostname)) {
    return { refused: "not a public host name" };
  }
  if (!vouched && !policy.portalHosts.some((p) => matchesPortalHost(host, p))) {
    return { refused: "not on BITRIX_PORTAL_HOSTS" };
  }
  return address;
}
