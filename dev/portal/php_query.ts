/**
 * PHP-style form encoding, the way Bitrix24 reads request parameters and writes event bodies:
 * `FILTER[NAME]=x`, `USER_ID[]=1&USER_ID[]=2`, `data[FIELDS][ID]=7`.
 *
 * @module
 */

/** A decoded parameter value: a string, or nested arrays/objects of them. */
export type PhpValue = string | PhpValue[] | { [key: string]: PhpValue };

/** Parameters after decoding, keyed by top-level name. */
export type PhpParams = Record<string, PhpValue>;

type Tree = { [key: string]: Tree | string };

/** Splits `a[b][]` into `["a", "b", ""]`; a key without brackets is one segment. */
function splitKey(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^\]]*\])+)$/.exec(key);
  if (!match) return [key];
  const rest = [...match[2].matchAll(/\[([^\]]*)\]/g)].map((m) => m[1]);
  return [match[1], ...rest];
}

function nextIndex(node: Tree): string {
  const numeric = Object.keys(node).filter((k) => /^\d+$/.test(k)).map(Number);
  return String(numeric.length ? Math.max(...numeric) + 1 : 0);
}

/** Turns objects whose keys are exactly `0..n-1` into arrays, as PHP's json_encode does. */
function normalize(value: Tree | string): PhpValue {
  if (typeof value === "string") return value;
  const keys = Object.keys(value);
  const entries = keys.map((k) => [k, normalize(value[k])] as const);
  if (keys.length > 0 && keys.every((k, i) => k === String(i))) return entries.map(([, v]) => v);
  return Object.fromEntries(entries);
}

/** Decodes `key=value` pairs with bracketed keys into nested parameters. Later keys win. */
export function parsePhpQuery(pairs: Iterable<[string, string]>): PhpParams {
  const root: Tree = {};
  for (const [key, value] of pairs) {
    const path = splitKey(key);
    let node = root;
    path.forEach((segment, i) => {
      const name = segment === "" ? nextIndex(node) : segment;
      if (i === path.length - 1) {
        node[name] = value;
        return;
      }
      const child = node[name];
      if (typeof child !== "object") node[name] = {};
      node = node[name] as Tree;
    });
  }
  return normalize(root) as PhpParams;
}

function scalar(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

/** Encodes nested values as PHP's http_build_query does (null skipped, booleans as 1/0). */
export function buildPhpQuery(params: Record<string, unknown>): URLSearchParams {
  const out = new URLSearchParams();
  const walk = (prefix: string, value: unknown): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(`${prefix}[${i}]`, v));
    } else if (value !== null && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(`${prefix}[${k}]`, v);
    } else {
      const s = scalar(value);
      if (s !== undefined) out.append(prefix, s);
    }
  };
  for (const [k, v] of Object.entries(params)) walk(k, v);
  return out;
}
