/**
 * Reads the frame credentials of an API request — `Authorization: Bearer <AUTH_ID>` and
 * `X-Member-Id: <member_id>` (optionally `X-Auth-Expires`) — and verifies them with the portal
 * (cached; see lib/server/bitrix/frame_auth.ts).
 *
 * @module
 */
import type { Context } from "hono";
import type { AppEnv } from "./state.ts";
import type { FrameUser } from "./bitrix/frame_auth.ts";
import { UnauthorizedError } from "./errors.ts";

/** The verified caller of a frame API request; throws 401 when credentials are missing or bad. */
export async function frameUser(c: Context<AppEnv>): Promise<FrameUser> {
  const auth = /^Bearer ([A-Za-z0-9._~+/=-]{1,500})$/.exec(c.req.header("authorization") ?? "");
  const memberId = c.req.header("x-member-id") ?? "";
  if (!auth || !/^[A-Za-z0-9_.-]{1,64}$/.test(memberId)) {
    throw new UnauthorizedError("frame credentials are missing");
  }
  const expires = Number(c.req.header("x-auth-expires"));
  return await c.var.services.bitrix.frameAuth.verify(
    memberId,
    auth[1],
    Number.isFinite(expires) ? expires : undefined,
    c.var.client.ip,
  );
}
