import { assertEquals, assertStringIncludes } from "./assert.ts";

const LOGS = new URL("./logs.ts", import.meta.url).href;
const LOG = new URL("../../lib/server/log.ts", import.meta.url).href;

const FIXTURE = `
import "${LOGS}";
import { log } from "${LOG}";
Deno.test("passes", () => log.warn("line of a passing test"));
Deno.test("fails", () => {
  log.warn("line of a failing test");
  throw new Error("boom");
});
Deno.test({ name: "fails in a step", async fn(t) {
  log.warn("line of a failing step's test");
  await t.step("step", () => { throw new Error("boom"); });
} });
Deno.test(function passesByName() { log.warn("line of a named passing test"); });
`;

/** Runs the fixture's tests in their own `deno test`; returns what they printed. */
async function runFixture(env: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "logs-test-" });
  try {
    await Deno.writeTextFile(`${dir}/fixture_test.ts`, FIXTURE);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "--no-config", "--no-check", "--allow-env", `${dir}/fixture_test.ts`],
      env: { NO_COLOR: "1", ...env },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 1, "two of the fixture's tests fail");
    return new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("[test logs] log lines are printed for failing tests only", async () => {
  const output = await runFixture({ LOG_TESTS: "" });
  assertStringIncludes(output, `--- log lines of "fails" ---`);
  assertStringIncludes(output, "line of a failing test");
  assertStringIncludes(output, "line of a failing step's test");
  assertEquals(output.includes("line of a passing test"), false, output);
  assertEquals(output.includes("line of a named passing test"), false, output);
});

Deno.test("[test logs] LOG_TESTS=1 prints every line as it comes", async () => {
  const output = await runFixture({ LOG_TESTS: "1" });
  for (const test of ["a passing test", "a failing test", "a named passing test"]) {
    assertStringIncludes(output, `line of ${test}`);
  }
  assertEquals(output.includes("--- log lines of"), false);
});
