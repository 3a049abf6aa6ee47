import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { backoffMs, blockedBackoffMs } from "./call_sync.ts";
import { BitrixApiError } from "./rest.ts";

Deno.test("[call_sync] a refused portal waits 15 minutes to an hour, capped", () => {
  const min = 15 * 60_000;
  const hour = 60 * 60_000;
  for (const blockedFor of [0, 60_000, 20 * 60_000, 5 * hour, 30 * 24 * hour]) {
    const delay = blockedBackoffMs(blockedFor);
    assert(delay >= min * 0.9 && delay <= hour * 1.1, `${blockedFor} → ${delay}`);
  }
  assert(blockedBackoffMs(0) <= min * 1.1);
  assert(blockedBackoffMs(5 * hour) >= hour * 0.9);
  assert(backoffMs(0) < 5000);
});

Deno.test("[call_sync] PAYMENT_REQUIRED and invalid_client are states of the portal", () => {
  assertEquals(new BitrixApiError("PAYMENT_REQUIRED", 402, "").blockedReason, "payment_required");
  assertEquals(new BitrixApiError("HTTP_402", 402, "").blockedReason, "payment_required");
  assertEquals(new BitrixApiError("invalid_client", 401, "").blockedReason, "invalid_client");
  assertEquals(new BitrixApiError("ERROR_CORE", 400, "").blockedReason, undefined);
});
