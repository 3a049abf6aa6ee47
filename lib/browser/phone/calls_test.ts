import { assertEquals } from "../../../tests/support/assert.ts";
import { referrerOf } from "./calls.ts";

Deno.test("[calls] referrerOf() names who transferred a call", () => {
  assertEquals(referrerOf(undefined), undefined);
  assertEquals(referrerOf(" "), undefined);
  assertEquals(referrerOf('"Anna Petrova" <sip:1001@pbx.example.com>'), "Anna Petrova");
  assertEquals(referrerOf("Anna <sip:1001@pbx.example.com>"), "Anna");
  assertEquals(referrerOf("<sip:1001@pbx.example.com;transport=ws>"), "1001");
  assertEquals(referrerOf("sip:%2B79991234567@pbx.example.com"), "+79991234567");
});
