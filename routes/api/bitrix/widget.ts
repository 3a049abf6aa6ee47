import { define } from "../../../lib/server/state.ts";
import { parseJsonBody } from "../../../lib/server/http.ts";
import { frameUser } from "../../../lib/server/frame_request.ts";
import { handleWidget } from "../../../lib/server/widget.ts";
import { widgetRequestSchema } from "../../../lib/shared/api/widget.ts";

/** The widget API of the app's frames (authenticated by the frame's token). */
export const handler = define.handlers({
  POST: async (c) => {
    const user = await frameUser(c);
    const { services } = c.var;
    const schema = widgetRequestSchema(services.config.BITRIX_ALLOW_INSECURE_PORTALS);
    const answer = await handleWidget(services, user, await parseJsonBody(c, schema));
    c.header("Cache-Control", "no-store");
    return c.json(answer);
  },
});
