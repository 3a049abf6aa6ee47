/**
 * Every REST method the emulator answers, by lower-case name (the portal lower-cases method
 * names, so `telephony.externalCall.register` and `telephony.externalcall.register` are one).
 *
 * @module
 */
import type { MethodSpec } from "./context.ts";
import { APP_METHODS } from "./methods/app.ts";
import { BATCH_METHODS } from "./methods/batch.ts";
import { EVENT_METHODS } from "./methods/event.ts";
import { PLACEMENT_METHODS } from "./methods/placement.ts";
import { CALL_METHODS } from "./methods/telephony_calls.ts";
import { LINE_METHODS } from "./methods/telephony_lines.ts";
import { USER_METHODS } from "./methods/users.ts";

/** Method table. */
export const METHODS: Readonly<Record<string, MethodSpec>> = {
  ...APP_METHODS,
  ...USER_METHODS,
  ...PLACEMENT_METHODS,
  ...EVENT_METHODS,
  ...LINE_METHODS,
  ...CALL_METHODS,
  ...BATCH_METHODS,
};
