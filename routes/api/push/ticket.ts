import { define } from "../../../lib/server/state.ts";
import { frameUser } from "../../../lib/server/frame_request.ts";
import type { PushTicketAnswer } from "../../../lib/shared/api/push.ts";

/** A single-use ticket that opens the user's push stream (EventSource cannot send headers). */
export const handler = define.handlers({
  POST: async (c) => {
    const user = await frameUser(c);
    const { push } = c.var.services;
    const ticket = await push.issueTicket(user.portal.id, user.userId);
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        url: `/api/push/stream?ticket=${ticket}`,
        expiresIn: push.ticketTtlSeconds,
      } satisfies PushTicketAnswer,
    );
  },
});
