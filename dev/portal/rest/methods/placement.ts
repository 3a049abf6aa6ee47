/**
 * `placement.bind`, `placement.unbind`, `placement.get` after CORE `rest/lib/api/placement.php`
 * (admin only; errors are RestExceptions, i.e. HTTP 400, except EMPTY_ERROR_HANDLER_URL, which
 * the PAGE_BACKGROUND_WORKER register callback returns as a 200 result).
 *
 * @module
 */
import type { PlacementBinding } from "../../state.ts";
import type { MethodContext, MethodSpec } from "../context.ts";
import { accessDenied, argumentError, argumentNull, argumentType, restError } from "../errors.ts";
import { int, isRecord, str, upperKeys } from "../params.ts";
import { checkHandlerUrl } from "./handler_url.ts";

interface PlacementInfo {
  /** Scope the token needs for this placement. */
  scope: string;
  maxCount?: number;
  userMode?: boolean;
  /** OPTIONS keys kept, with their types. */
  options?: Record<string, "string" | "int">;
}

/** Placements this emulator knows (reference §4.2). */
const PLACEMENTS: Record<string, PlacementInfo> = {
  PAGE_BACKGROUND_WORKER: {
    scope: "placement",
    maxCount: 1,
    userMode: true,
    options: { errorHandlerUrl: "string" },
  },
  LEFT_MENU: { scope: "placement" },
  REST_APP_URI: { scope: "placement", maxCount: 1 },
  CALL_CARD: { scope: "telephony" },
  TELEPHONY_ANALYTICS_MENU: { scope: "telephony" },
  USER_PROFILE_MENU: { scope: "user" },
  USER_PROFILE_TOOLBAR: { scope: "user" },
  IM_NAVIGATION: {
    scope: "im",
    options: { iconName: "string", extranet: "string", role: "string" },
  },
  CRM_CONTACT_DETAIL_TAB: { scope: "crm" },
  CRM_COMPANY_DETAIL_TAB: { scope: "crm" },
  CRM_LEAD_DETAIL_TAB: { scope: "crm" },
  CRM_DEAL_DETAIL_TAB: { scope: "crm" },
};

function requireAdmin({ caller }: MethodContext): void {
  if (!caller.user.admin) throw accessDenied();
}

function keepOptions(raw: unknown, allowed: PlacementInfo["options"]): Record<string, unknown> {
  if (!allowed || !isRecord(raw)) return {};
  const out: Record<string, unknown> = {};
  for (const [key, type] of Object.entries(allowed)) {
    if (raw[key] !== undefined) out[key] = type === "int" ? int(raw[key]) : str(raw[key]);
  }
  return out;
}

function langList(ctx: MethodContext, p: Record<string, unknown>): PlacementBinding["langAll"] {
  const out: PlacementBinding["langAll"] = {};
  if (isRecord(p.LANG_ALL)) {
    for (const [lang, item] of Object.entries(p.LANG_ALL)) {
      const i = isRecord(item) ? item : {};
      out[lang] = {
        TITLE: str(i.TITLE).trim(),
        DESCRIPTION: str(i.DESCRIPTION).trim(),
        GROUP_NAME: str(i.GROUP_NAME).trim(),
      };
    }
  } else if (p.TITLE || p.DESCRIPTION || p.GROUP_NAME) {
    out[ctx.state.options.language] = {
      TITLE: str(p.TITLE).trim(),
      DESCRIPTION: str(p.DESCRIPTION).trim(),
      GROUP_NAME: str(p.GROUP_NAME).trim(),
    };
  }
  return out;
}

function bind(ctx: MethodContext): unknown {
  requireAdmin(ctx);
  const p = upperKeys(ctx.params);
  const placement = str(p.PLACEMENT).toUpperCase();
  const handler = str(p.HANDLER);
  if (placement === "") throw argumentNull("PLACEMENT");
  if (placement === "DEFAULT") throw argumentError("Wrong value", "PLACEMENT");
  if (handler === "") throw argumentNull("HANDLER");
  checkHandlerUrl(handler);
  const info = PLACEMENTS[placement];
  if (!info || !ctx.caller.grant.scope.includes(info.scope)) {
    throw restError("ERROR_PLACEMENT_NOT_FOUND", "Placement not found");
  }
  const userId = Math.max(0, int(p.USER_ID));
  if (userId !== 0 && !info.userMode) {
    throw restError("ERROR_PLACEMENT_USER_MODE", "User mode is not available.");
  }
  if (info.maxCount) {
    const count = ctx.state.placements.filter((b) =>
      b.placement === placement && (!info.userMode || b.userId === 0 || b.userId === userId)
    ).length;
    if (count >= info.maxCount) {
      throw restError("ERROR_PLACEMENT_MAX_COUNT", `Placement max count: ${info.maxCount}`);
    }
  }
  const options = keepOptions(p.OPTIONS, info.options);
  if (placement === "PAGE_BACKGROUND_WORKER" && !options.errorHandlerUrl) {
    return {
      error: "EMPTY_ERROR_HANDLER_URL",
      error_description: "Field errorHandlerUrl is empty.",
    };
  }
  const langAll = langList(ctx, p);
  const main = langAll[ctx.state.options.language] ?? Object.values(langAll)[0];
  ctx.state.placements.push({
    id: ctx.state.nextId(),
    placement,
    userId,
    handler,
    options,
    title: main?.TITLE ?? "",
    description: main?.DESCRIPTION ?? "",
    langAll,
  });
  return true;
}

function unbind(ctx: MethodContext): unknown {
  requireAdmin(ctx);
  const p = upperKeys(ctx.params);
  if (typeof p.PLACEMENT !== "string") throw argumentType("PLACEMENT", "string");
  const placement = p.PLACEMENT.toUpperCase();
  if (placement === "") throw argumentNull("PLACEMENT");
  const handler = str(p.HANDLER);
  const list = ctx.state.placements;
  const doomed = list.filter((b) =>
    b.placement === placement &&
    (!("USER_ID" in p) || b.userId === int(p.USER_ID)) &&
    (handler === "" || b.handler === handler)
  );
  for (const b of doomed) list.splice(list.indexOf(b), 1);
  // CORE counts each found row once and each successful delete once more.
  return { count: doomed.length * 2 };
}

function get(ctx: MethodContext): unknown {
  requireAdmin(ctx);
  return ctx.state.placements.map((b) => ({
    placement: b.placement,
    userId: b.userId,
    handler: b.handler,
    options: Object.keys(b.options).length ? b.options : [],
    title: b.title,
    description: b.description,
    langAll: Object.keys(b.langAll).length ? b.langAll : [],
  }));
}

/** Widget registration methods (scope `placement`). */
export const PLACEMENT_METHODS: Record<string, MethodSpec> = {
  "placement.bind": { scopes: ["placement"], run: bind },
  "placement.unbind": { scopes: ["placement"], run: unbind },
  "placement.get": { scopes: ["placement"], run: get },
};
