/**
 * ACL policies: the subset of HCL used here (`path "glob" { capabilities = [ … ] }`, with `*`
 * suffix globs and `+` segment wildcards) parsed into rules.
 *
 * @module
 */

/** One `path` block: its pattern as a regex, and what ranks it against other matches. */
export interface Rule {
  pattern: string;
  regex: RegExp;
  exact: boolean;
  prefixLength: number;
  caps: Set<string>;
}

/** A stored policy: its text as written and its parsed rules. */
export interface Policy {
  text: string;
  rules: Rule[];
}

/** A capability a handler asks for. */
export type Cap = "create" | "read" | "update" | "delete" | "list" | "patch";

const CAPABILITIES = new Set([
  "create",
  "read",
  "update",
  "patch",
  "delete",
  "list",
  "sudo",
  "deny",
  "subscribe",
  "recover",
]);
/** The `default` policy every server starts with: a token may look up, renew and revoke itself. */
export const DEFAULT_POLICY = `
path "auth/token/lookup-self" { capabilities = ["read"] }
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/revoke-self" { capabilities = ["update"] }
path "sys/capabilities-self" { capabilities = ["update"] }
`;

/** Parses the subset of HCL policies used here: `path "glob" { capabilities = [ … ] }`. */
export function parsePolicy(text: string): Rule[] {
  const clean = text.replace(/(#|\/\/)[^\n]*/g, "");
  const rules: Rule[] = [];
  let rest = clean;
  for (const m of clean.matchAll(/path\s+"([^"]+)"\s*\{([^}]*)\}/g)) {
    rest = rest.replace(m[0], "");
    const capsText = /capabilities\s*=\s*\[([^\]]*)\]/.exec(m[2]);
    if (!capsText) throw new Error(`no capabilities for path "${m[1]}"`);
    const caps = new Set(
      capsText[1].split(",").map((c) => c.trim().replace(/^"|"$/g, "")).filter(Boolean),
    );
    for (const c of caps) if (!CAPABILITIES.has(c)) throw new Error(`invalid capability "${c}"`);
    const pattern = m[1].replace(/^\//, "");
    const glob = pattern.endsWith("*");
    const body = glob ? pattern.slice(0, -1) : pattern;
    const source = body.split("+").map((s) => s.replace(/[.*?^${}()|[\]\\]/g, "\\$&")).join(
      "[^/]+",
    );
    rules.push({
      pattern,
      regex: new RegExp(`^${source}${glob ? ".*" : ""}$`),
      exact: !glob && !pattern.includes("+"),
      prefixLength: body.split("+")[0].length,
      caps,
    });
  }
  if (rest.trim()) throw new Error("unexpected text outside path blocks");
  return rules;
}
