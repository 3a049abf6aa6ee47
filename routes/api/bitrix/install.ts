import { define } from "../../../lib/server/state.ts";
import { readFormIfAny } from "../../../lib/server/http.ts";
import { handleAppInstall } from "../../../lib/server/bitrix/events.ts";

/** ONAPPINSTALL: the portal hands over the application token (see lib/server/bitrix/events.ts). */
export const handler = define.handlers({
  POST: async (c) => {
    await handleAppInstall(c.var.services, await readFormIfAny(c), c.var.client.ip);
    return c.json({ ok: true });
  },
});
