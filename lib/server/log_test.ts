import { assertEquals } from "../../tests/support/assert.ts";
import { Logger, redact } from "./log.ts";

Deno.test("[log] secret keys are masked at any depth, whatever their spelling", () => {
  assertEquals(
    redact({
      AUTH_ID: "a",
      nested: { "Refresh-Token": "b", list: [{ sip_password: "c" }], memberId: "m1" },
      path: "/api/bitrix/widget",
    }),
    {
      AUTH_ID: "[redacted]",
      nested: {
        "Refresh-Token": "[redacted]",
        list: [{ sip_password: "[redacted]" }],
        memberId: "m1",
      },
      path: "/api/bitrix/widget",
    },
  );
});

Deno.test("[log] token-shaped values are masked inside strings", () => {
  assertEquals(
    redact("GET /?DOMAIN=x&AUTH_ID=tok123&password=p4ss HTTP"),
    "GET /?DOMAIN=x&AUTH_ID=[redacted]&password=[redacted] HTTP",
  );
  assertEquals(redact("header Bearer abc.def-ghi"), "header Bearer [redacted]");
  assertEquals(redact("token hvs.CAESIabcdefghijklmnop left"), "token [redacted] left");
  assertEquals(redact("127.0.0.1 2f1c-uuid GET"), "127.0.0.1 2f1c-uuid GET");
});

Deno.test("[log] errors keep their query text but not its parameters", () => {
  const err = Object.assign(new Error("Failed query: select 1\nparams: hash,ciphertext"), {
    code: "57P01",
  });
  assertEquals(redact(err), { name: "Error", message: "Failed query: select 1", code: "57P01" });
});

Deno.test("[log] one JSON line per event, children add fields, the level filters", () => {
  const lines: string[] = [];
  const root = Logger.create("info", (line) => lines.push(line));
  const child = root.child({ requestId: "r1" });
  child.debug("hidden");
  child.info("request", { status: 200, token: "t" });
  assertEquals(lines.length, 1);
  const { time, ...rest } = JSON.parse(lines[0]);
  assertEquals(typeof time, "string");
  assertEquals(rest, {
    level: "info",
    event: "request",
    requestId: "r1",
    status: 200,
    token: "[redacted]",
  });
});

Deno.test("[log] context fields named like the line's own keys do not replace them", () => {
  const lines: string[] = [];
  const root = Logger.create("info", (line) => lines.push(line));
  root.child({ level: "debug" }).warn("bitrix24 event rejected", {
    event: "ONAPPUNINSTALL",
    time: "then",
    msg: "m",
    message: "x",
    memberId: "m1",
  });
  const { time, ...rest } = JSON.parse(lines[0]);
  assertEquals(typeof time, "string");
  assertEquals(time === "then", false);
  assertEquals(rest, {
    level: "warn",
    event: "bitrix24 event rejected",
    ctx_level: "debug",
    ctx_event: "ONAPPUNINSTALL",
    ctx_time: "then",
    ctx_msg: "m",
    ctx_message: "x",
    memberId: "m1",
  });
});
