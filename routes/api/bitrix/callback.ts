import { define } from "../../../lib/server/state.ts";
import { readFormIfAny } from "../../../lib/server/http.ts";
import { handleEvent } from "../../../lib/server/bitrix/events.ts";

/** Every other Bitrix24 event (ONAPPUNINSTALL, ONAPPUPDATE, ONEXTERNALCALLSTART). */
export const handler = define.handlers({
  POST: async (c) => {
    const answer = await handleEvent(c.var.services, await readFormIfAny(c));
    return c.json({ ok: true, ...answer }, answer.uninstall === "pending" ? 202 : 200);
  },
});
