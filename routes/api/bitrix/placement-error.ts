import { z } from "zod";
import { define } from "../../../lib/server/state.ts";
import { parseWith, readFormOrJson } from "../../../lib/server/http.ts";
import { UnauthorizedError } from "../../../lib/server/errors.ts";

const querySchema = z.object({
  member_id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  token: z.string().regex(/^[0-9a-f]{48}$/),
});
const bodySchema = z.object({
  error: z.string().max(100),
  error_description: z.string().max(1000).optional(),
});

/**
 * The background worker's `errorHandlerUrl`: Bitrix24 reports a placement it removed
 * (`ERROR_PLACEMENT_LOADING_OVERTIME`) without auth, so the URL carries a per-portal secret
 * (issued at each install, dropped by an uninstall). Only the newest reports of a portal are
 * kept.
 */
export const handler = define.handlers({
  POST: async (c) => {
    // Authentication first: without the portal's secret nothing else is looked at.
    const query = querySchema.safeParse(c.req.query());
    if (!query.success) throw new UnauthorizedError("unknown portal or token");
    const { portals } = c.var.services;
    const portal = await portals.verifyErrorToken(query.data.member_id, query.data.token);
    if (!portal?.installed) throw new UnauthorizedError("unknown portal or token");
    const body = parseWith(bodySchema, await readFormOrJson(c));
    await portals.recordPlacementError(portal, body);
    c.var.log.warn("bitrix24 placement error", { memberId: portal.memberId, error: body.error });
    return c.json({ ok: true });
  },
});
