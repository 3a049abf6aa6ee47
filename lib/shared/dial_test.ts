import { assertEquals } from "../../tests/support/assert.ts";
import { formatDuration, normalizeNumber } from "./dial.ts";

Deno.test("[dial] normalizeNumber", () => {
  assertEquals(normalizeNumber("+7 (495) 123-45-67"), "+74951234567");
  assertEquals(normalizeNumber("8 800 555.35.35"), "88005553535");
  assertEquals(normalizeNumber("0049 30 1234"), "+49301234");
  assertEquals(normalizeNumber("tel:+1-555-0100"), "+15550100");
  assertEquals(normalizeNumber("sip:101@pbx.example.com"), "101");
  assertEquals(normalizeNumber(" *97# "), "*97#");
  assertEquals(normalizeNumber("abc"), "");
});

Deno.test("[dial] formatDuration", () => {
  assertEquals(formatDuration(0), "0:00");
  assertEquals(formatDuration(65), "1:05");
  assertEquals(formatDuration(3725), "1:02:05");
});
