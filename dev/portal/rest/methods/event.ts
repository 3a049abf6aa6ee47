/**
 * `event.bind`, `event.unbind`, `event.get` after CORE `rest/lib/api/event.php`.
 *
 * @module
 */
import type { EventHandlerBinding } from "../../state.ts";
import type { MethodContext, MethodSpec } from "../context.ts";
import { accessDenied, argumentError, argumentNull, coreError, restError } from "../errors.ts";
import { int, str, upperKeys } from "../params.ts";
import { checkHandlerUrl } from "./handler_url.ts";

/** Events the emulator can bind, with the scope each belongs to (null = global). */
export const KNOWN_EVENTS: Record<string, string | null> = {
  ONAPPINSTALL: null,
  ONAPPUNINSTALL: null,
  ONAPPUPDATE: null,
  ONAPPPAYMENT: null,
  ONAPPTEST: null,
  ONOFFLINEEVENT: null,
  ONEXTERNALCALLSTART: "telephony",
  ONEXTERNALCALLBACKSTART: "telephony",
  ONUSERADD: "user",
  ONCRMLEADADD: "crm",
  ONCRMCONTACTADD: "crm",
  ONCRMCOMPANYADD: "crm",
  ONCRMDEALADD: "crm",
};

function eventType(p: Record<string, unknown>): "online" | "offline" {
  const type = str(p.EVENT_TYPE).toLowerCase();
  if (type === "") return "online";
  if (type !== "online" && type !== "offline") {
    throw argumentError("Value must be one of {online|offline}", "EVENT_TYPE");
  }
  return type;
}

function bind(ctx: MethodContext): unknown {
  const { state, caller } = ctx;
  const p = upperKeys(ctx.params);
  const event = str(p.EVENT).toUpperCase();
  const admin = caller.user.admin;
  let authType = int(p.AUTH_TYPE);
  if (authType > 0) {
    if (!admin && authType !== caller.user.id) {
      throw accessDenied("Event binding with AUTH_TYPE requires administrator access rights");
    }
  } else if (!admin) {
    authType = caller.user.id;
  }
  if (event === "") throw argumentNull("EVENT");
  const type = eventType(p);
  let handler = str(p.HANDLER);
  if (type === "offline") {
    if (!admin) throw accessDenied("Offline events binding requires administrator access rights");
    handler = "";
    authType = 0;
  } else if (handler === "") {
    throw argumentNull("HANDLER");
  }
  if (handler !== "") checkHandlerUrl(handler);
  const scope = KNOWN_EVENTS[event];
  if (scope === undefined || (scope !== null && !caller.grant.scope.includes(scope))) {
    throw restError("ERROR_EVENT_NOT_FOUND", "Event not found");
  }
  const offline = type === "offline";
  const duplicate = state.eventHandlers.some((h) =>
    h.event === event && h.handler === handler && h.authType === authType && h.offline === offline
  );
  if (duplicate) throw coreError("Unable to set event handler: Handler already binded");
  state.eventHandlers.push({ id: state.nextId(), event, handler, authType, offline });
  return true;
}

function unbind(ctx: MethodContext): unknown {
  const { state, caller } = ctx;
  const p = upperKeys(ctx.params);
  const event = str(p.EVENT).toUpperCase();
  if (event === "") throw argumentNull("EVENT");
  const type = eventType(p);
  let handler = str(p.HANDLER);
  if (type === "offline") {
    if (!caller.user.admin) {
      throw accessDenied("Offline events unbinding requires administrator access rights");
    }
    handler = "";
  } else if (handler === "") {
    throw argumentNull("HANDLER");
  }
  let user: number | undefined;
  if (type === "online" && "AUTH_TYPE" in p) {
    if (!caller.user.admin && int(p.AUTH_TYPE) !== caller.user.id) {
      throw accessDenied("Event unbinding with AUTH_TYPE requires administrator access rights");
    }
    user = int(p.AUTH_TYPE);
  } else if (type === "online" && !caller.user.admin) {
    user = caller.user.id;
  }
  const matches = (h: EventHandlerBinding) =>
    h.event === event && h.handler === handler && (user === undefined || h.authType === user);
  const doomed = state.eventHandlers.filter(matches);
  for (const h of doomed) state.eventHandlers.splice(state.eventHandlers.indexOf(h), 1);
  return { count: doomed.length };
}

function get({ state, caller }: MethodContext): unknown {
  return state.eventHandlers
    .filter((h) => caller.user.admin || h.authType === caller.user.id)
    .map((h) =>
      h.offline
        ? { event: h.event, connector_id: "", offline: 1 }
        : { event: h.event, handler: h.handler, auth_type: String(h.authType), offline: 0 }
    );
}

/** Event subscription methods (global scope). */
export const EVENT_METHODS: Record<string, MethodSpec> = {
  "event.bind": { scopes: null, run: bind },
  "event.unbind": { scopes: null, run: unbind },
  "event.get": { scopes: null, run: get },
};
