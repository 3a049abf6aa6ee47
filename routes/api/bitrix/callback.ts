import { define, parseFormBody } from "../../../lib/http.ts";
import { bitrixEventSchema, handleEvent } from "../../../lib/bitrix/events.ts";

/** Every other Bitrix24 event (ONAPPUNINSTALL, ONEXTERNALCALLSTART). */
export const handler = define.handlers({
  POST: async (c) => {
    await handleEvent(c.var.services, await parseFormBody(c, bitrixEventSchema));
    return c.json({ ok: true });
  },
});
