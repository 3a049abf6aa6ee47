import { assert, assertEquals } from "../../tests/support/assert.ts";
import { toAppError } from "./foreign_errors.ts";
import { BadRequestError, UnavailableError, UpstreamError } from "./errors.ts";
import { BitrixApiError } from "./bitrix/rest.ts";
import { VaultError } from "./secrets/vault.ts";

Deno.test("[foreign_errors] each foreign error becomes its typed error; others pass through", () => {
  const own = new BadRequestError("bad");
  assertEquals(toAppError(own), own);

  const bitrix = toAppError(new BitrixApiError("ACCESS_DENIED", 403, "", "user.get"));
  assert(bitrix instanceof UpstreamError);
  assertEquals([bitrix.status, bitrix.message], [502, "user.get failed: ACCESS_DENIED"]);

  const vault = toAppError(new VaultError("sealed", 503, "sys/health"));
  assert(vault instanceof UnavailableError);

  const database = toAppError(new Error("write failed", { cause: { code: "ECONNREFUSED" } }));
  assert(database instanceof UnavailableError);
  assertEquals(database.message, "the database is unavailable");

  const unknown = new TypeError("x is undefined");
  assertEquals(toAppError(unknown), unknown);
});
