import { assertEquals, assertThrows } from "../../tests/support/assert.ts";
import { parseBracketForm } from "./form.ts";

const parse = (body: string) =>
  JSON.parse(JSON.stringify(parseBracketForm(new URLSearchParams(body))));

Deno.test("[form] nests bracket keys and arrays", () => {
  assertEquals(
    parse("event=ONAPPINSTALL&auth[application_token]=T&data[FIELDS][ID]=42&tags[]=a&tags[]=b"),
    {
      event: "ONAPPINSTALL",
      auth: { application_token: "T" },
      data: { FIELDS: { ID: "42" } },
      tags: ["a", "b"],
    },
  );
});

Deno.test("[form] refuses prototype pollution and malformed keys", () => {
  for (
    const body of [
      "__proto__[admin]=1",
      "a[__proto__][x]=1",
      "a[constructor][prototype][x]=1",
      "a[b=1",
      "a]=1",
      "a[][b]=1",
      "a[]=1&a[b]=2",
    ]
  ) {
    assertThrows(() => parseBracketForm(new URLSearchParams(body)));
  }
  assertEquals(({} as Record<string, unknown>).admin, undefined);
});

Deno.test("[form] limits the number of fields and depth", () => {
  const many = Array.from({ length: 1001 }, (_, i) => `k${i}=v`).join("&");
  assertThrows(() => parseBracketForm(new URLSearchParams(many)), "too many");
  assertThrows(() => parseBracketForm(new URLSearchParams("a[b][c][d][e][f][g][h][i]=1")), "deep");
});
