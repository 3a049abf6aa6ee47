/**
 * Bracket-key form parsing for Bitrix24 bodies (`auth[application_token]=…&data[FIELDS][ID]=1`
 * → nested objects), safe against prototype pollution: objects are created without a prototype
 * and `__proto__`, `constructor` and `prototype` segments are refused.
 *
 * @module
 */
import { BadRequestError } from "./errors.ts";

/** A parsed form: strings, arrays (`a[]=`) and nested objects. */
export type FormValue = string | FormValue[] | { [key: string]: FormValue };

const FORBIDDEN = new Set(["__proto__", "constructor", "prototype"]);
const MAX_DEPTH = 8;
const MAX_FIELDS = 1000;

/** Splits `a[b][c][]` into `["a","b","c",""]`; undefined for malformed keys. */
function splitKey(key: string): string[] | undefined {
  const m = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (!m) return undefined;
  const rest = [...m[2].matchAll(/\[([^[\]]*)\]/g)].map((x) => x[1]);
  return [m[1], ...rest];
}

/**
 * Parses form entries into a nested object. Throws `BadRequestError` for forbidden or
 * malformed keys, too many fields or too deep nesting.
 */
export function parseBracketForm(
  entries: Iterable<[string, FormDataEntryValue | string]>,
): Record<string, FormValue> {
  const root: Record<string, FormValue> = Object.create(null);
  let count = 0;
  for (const [key, raw] of entries) {
    if (++count > MAX_FIELDS) throw new BadRequestError("too many form fields");
    if (typeof raw !== "string") throw new BadRequestError("file uploads are not accepted");
    const path = splitKey(key);
    if (!path) throw new BadRequestError(`malformed form key`);
    if (path.length > MAX_DEPTH) throw new BadRequestError("form keys nested too deeply");
    if (path.some((p) => FORBIDDEN.has(p))) throw new BadRequestError("forbidden form key");
    assign(root, path, raw);
  }
  return root;
}

function assign(target: Record<string, FormValue>, path: string[], value: string): void {
  let node: Record<string, FormValue> | FormValue[] = target;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i];
    const last = i === path.length - 1;
    if (Array.isArray(node)) {
      if (segment !== "") throw new BadRequestError("mixed array and object form keys");
      if (!last) throw new BadRequestError("nested arrays are not supported");
      node.push(value);
      return;
    }
    if (last) {
      if (segment === "") throw new BadRequestError("malformed form key");
      node[segment] = value;
      return;
    }
    const wantArray = path[i + 1] === "";
    const existing: FormValue | undefined = node[segment];
    if (existing === undefined || typeof existing === "string") {
      node[segment] = wantArray ? [] : Object.create(null);
    } else if (Array.isArray(existing) !== wantArray) {
      throw new BadRequestError("mixed array and object form keys");
    }
    node = node[segment] as Record<string, FormValue> | FormValue[];
  }
}
