import { define, parseFormBody } from "../../../lib/http.ts";
import { bitrixEventSchema, handleAppInstall } from "../../../lib/bitrix/events.ts";
import { BadRequestError } from "../../../lib/errors.ts";

/** ONAPPINSTALL: the portal hands over the application token. */
export const handler = define.handlers({
  POST: async (c) => {
    const event = await parseFormBody(c, bitrixEventSchema);
    if (event.event !== "ONAPPINSTALL") throw new BadRequestError("expected ONAPPINSTALL");
    await handleAppInstall(c.var.services, event);
    return c.json({ ok: true });
  },
});
