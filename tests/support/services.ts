/**
 * How tests treat system services (PostgreSQL, Kamailio, Chromium, nginx): on a developer's
 * machine a missing one skips its tests with a clear line; in CI (`CI=true`) it is a failure.
 *
 * @module
 */

/** True in CI, where every service must be present. */
export const IN_CI = ["true", "1"].includes(Deno.env.get("CI") ?? "");

/** Finds the first existing path among `candidates`. */
export function findBinary(candidates: string[]): string | undefined {
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/**
 * Returns `ignore` for `Deno.test`: false when the service is present; true (with a printed
 * reason) when absent on a developer machine; throws when absent in CI.
 */
export function requireService(name: string, present: boolean, hint: string): boolean {
  if (present) return false;
  const message = `${name} is not available (${hint})`;
  if (IN_CI) throw new Error(`CI=true: ${message}`);
  console.warn(`skipping tests that need ${message}`);
  return true;
}
