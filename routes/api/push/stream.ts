import { define } from "../../../lib/server/state.ts";
import { BadRequestError, UnauthorizedError } from "../../../lib/server/errors.ts";
import { LAST_EVENT_ID_PATTERN } from "../../../lib/shared/api/push.ts";

/**
 * The user's push stream (Server-Sent Events), opened with a ticket from `POST
 * /api/push/ticket`; `Last-Event-ID` (the header, or `lastEventId` in the query for a client
 * that reconnects by itself) replays what was missed.
 */
export const handler = define.handlers({
  GET: async (c) => {
    const { push } = c.var.services;
    const owner = await push.redeemTicket(c.req.query("ticket") ?? "");
    if (!owner) throw new UnauthorizedError("push ticket missing, expired or used");
    const lastEventId = c.req.header("last-event-id") ?? c.req.query("lastEventId");
    if (lastEventId !== undefined && !LAST_EVENT_ID_PATTERN.test(lastEventId)) {
      throw new BadRequestError("Last-Event-ID must be a message id");
    }
    const stream = push.openStream(
      owner.portalId,
      owner.userId,
      lastEventId === undefined || lastEventId === "" ? undefined : Number(lastEventId),
    );
    return new Response(stream.body, {
      headers: {
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        // nginx: pass every event on at once (the bundled config turns buffering off too).
        "X-Accel-Buffering": "no",
      },
    });
  },
});
