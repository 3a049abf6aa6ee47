/**
 * Quiet test output: the application's log lines (`lib/server/log.ts`) are kept per test and
 * printed only when that test fails, after its name; `LOG_TESTS=1` prints them as they come.
 *
 * Importing this module turns it on for the test file: every `Deno.test` registered after the
 * import runs with its own buffer. `tests/support/app.ts` imports it, so every test that starts
 * the app is quiet; a test file that runs server code without the app imports it itself:
 *
 * ```ts
 * import "../../tests/support/logs.ts";
 * ```
 *
 * A test that asserts on log lines captures them with {@link withCapturedLogs}; lines logged
 * between tests (background work that outlives its test) go to the next test's buffer.
 *
 * The cost of wrapping `Deno.test`: the runner names this module, not the test file, as a
 * test's place in its failure list; the error's own stack still points at the failing line.
 *
 * @module
 */
import { log } from "../../lib/server/log.ts";

/** True when the log lines should be printed as they come (`LOG_TESTS=1`). */
export const LOG_TESTS: boolean =
  Deno.permissions.querySync({ name: "env", variable: "LOG_TESTS" }).state === "granted" &&
  ["1", "true"].includes(Deno.env.get("LOG_TESTS") ?? "");

const buffer: string[] = [];

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/** `fn` with the buffer emptied before it and printed when it (or one of its steps) fails. */
function keepingLogs(name: string, fn: TestFn): TestFn {
  const wrapped = async (t: Deno.TestContext) => {
    buffer.length = 0;
    let stepFailed = false;
    const step = t.step.bind(t) as (...args: unknown[]) => Promise<boolean>;
    (t as { step: unknown }).step = async (...args: unknown[]) => {
      const passed = await step(...args);
      if (!passed) stepFailed = true;
      return passed;
    };
    try {
      await fn(t);
    } catch (err) {
      printBuffer(name);
      throw err;
    }
    if (stepFailed) printBuffer(name);
  };
  Object.defineProperty(wrapped, "name", { value: fn.name });
  return wrapped;
}

/** The most lines a failed test prints (a fuzz test logs thousands): the last ones. */
const MOST_LINES = 300;

function printBuffer(name: string): void {
  if (buffer.length === 0) return;
  const lines = buffer.splice(0);
  const left = lines.length > MOST_LINES ? ` (the last ${MOST_LINES} of ${lines.length})` : "";
  // deno-lint-ignore no-console
  console.error(
    `--- log lines of "${name}"${left} ---\n${lines.slice(-MOST_LINES).join("\n")}\n---`,
  );
}

/** Wraps the function of each test definition form `Deno.test` accepts. */
function quietTest(register: typeof Deno.test): typeof Deno.test {
  const quiet = (...args: unknown[]) => {
    const fnAt = args.findIndex((a) => typeof a === "function");
    if (fnAt >= 0) {
      const fn = args[fnAt] as TestFn;
      const named = args.find((a) => typeof a === "string") as string | undefined;
      const options = args.find((a) => typeof a === "object") as { name?: string } | undefined;
      args[fnAt] = keepingLogs(named ?? options?.name ?? fn.name, fn);
    } else {
      const definition = args[0] as Deno.TestDefinition;
      args[0] = { ...definition, fn: keepingLogs(definition.name, definition.fn) };
    }
    return (register as (...a: unknown[]) => void)(...args);
  };
  return Object.assign(quiet, register) as typeof Deno.test;
}

/**
 * Captures the process-wide log lines while `fn` runs, for its checks; they also go on to the
 * sink before (printed when the test fails, or with `LOG_TESTS=1`).
 */
export async function withCapturedLogs<T>(
  fn: (lines: string[]) => Promise<T>,
): Promise<T> {
  const lines: string[] = [];
  const previous = log.setSink((line) => {
    lines.push(line);
    previous(line);
  });
  try {
    return await fn(lines);
  } finally {
    log.setSink(previous);
  }
}

const QUIET = Symbol.for("tests/support/logs.ts");
if (!LOG_TESTS && !(QUIET in Deno.test)) {
  log.setSink((line) => buffer.push(line));
  // `Deno.test` is read-only in the types, not at run time.
  (Deno as { test: typeof Deno.test }).test = Object.assign(quietTest(Deno.test), {
    [QUIET]: true,
  });
}
