/**
 * HandlerHelper::checkCallback as the docs describe it: only http/https, and the host must
 * contain a dot (so `localhost` is refused while `127.0.0.1` passes).
 *
 * @module
 */
import { restError } from "../errors.ts";

/** Throws the portal's error for a handler URL it would refuse. */
export function checkHandlerUrl(handler: string): void {
  let url: URL;
  try {
    url = new URL(handler);
  } catch {
    throw restError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw restError("ERROR_UNSUPPORTED_PROTOCOL", "Unsupported event handler protocol");
  }
  if (!url.hostname.includes(".")) throw restError("ERROR_WRONG_HANDLER_URL", "Wrong handler URL");
}
