import { define, readFormIfAny } from "../../../lib/http.ts";
import { handleAppInstall } from "../../../lib/bitrix/events.ts";

/** ONAPPINSTALL: the portal hands over the application token (see lib/bitrix/events.ts). */
export const handler = define.handlers({
  POST: async (c) => {
    await handleAppInstall(c.var.services, await readFormIfAny(c));
    return c.json({ ok: true });
  },
});
