import { define } from "../../lib/server/state.ts";
import { parseJsonBody, parseWith } from "../../lib/server/http.ts";
import { frameUser } from "../../lib/server/frame_request.ts";
import { callView, reportCall } from "../../lib/server/call_journal.ts";
import { callReportSchema, historyQuerySchema } from "../../lib/shared/api/calls.ts";
import { ForbiddenError } from "../../lib/server/errors.ts";

/** The call journal: phones report calls (POST); the history is read back (GET). */
export const handler = define.handlers({
  POST: async (c) => {
    const user = await frameUser(c);
    const report = await parseJsonBody(c, callReportSchema);
    return c.json({ call: await reportCall(c.var.services, user, report) });
  },
  GET: async (c) => {
    const user = await frameUser(c);
    const query = parseWith(historyQuerySchema, c.req.query());
    if (query.all === "1" && !user.isAdmin) throw new ForbiddenError("administrators only");
    c.header("Cache-Control", "no-store");
    if (query.bitrixCallId) {
      // The card's call, of this user only (a CALL_ID may also name another user's row).
      const row = await c.var.services.calls.findByBitrixCallId(
        user.portal.id,
        query.bitrixCallId,
        user.userId,
      );
      return c.json({ calls: row ? [callView(row)] : [] });
    }
    const rows = await c.var.services.calls.list(user.portal.id, {
      userId: query.all === "1" ? undefined : user.userId,
      limit: query.limit,
      before: query.before,
    });
    return c.json({ calls: rows.map(callView) });
  },
});
