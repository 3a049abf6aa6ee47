/**
 * `user.current`, `user.get`, `user.search` (scope `user`, `user_basic` or `user_brief`).
 *
 * @module
 */
import { filterUsers, sortUsers, toRestUser } from "../../users.ts";
import { type MethodContext, type MethodSpec, paged } from "../context.ts";
import { isRecord, upperKeys } from "../params.ts";

const USER_SCOPES = ["user", "user_basic", "user_brief"] as const;

function listUsers({ state, params, start }: MethodContext, search: boolean) {
  const query = upperKeys(params);
  // CORE: a FILTER array replaces the whole query ("a mistake kept for compatibility").
  const filter = isRecord(query.FILTER) ? query.FILTER : query;
  const found = sortUsers(filterUsers(state.users.list(), filter, search), query.SORT, query.ORDER);
  return paged(found.map(toRestUser), start);
}

/** User directory methods. */
export const USER_METHODS: Record<string, MethodSpec> = {
  "user.current": { scopes: USER_SCOPES, run: ({ caller }) => toRestUser(caller.user) },
  "user.get": { scopes: USER_SCOPES, run: (ctx) => listUsers(ctx, false) },
  "user.search": { scopes: USER_SCOPES, run: (ctx) => listUsers(ctx, true) },
};
