/**
 * `app.info`, `profile`, `user.admin`, `scope`: who the app and the caller are (all `basic`).
 *
 * @module
 */
import type { MethodSpec } from "../context.ts";

/** Methods about the app and the calling user. */
export const APP_METHODS: Record<string, MethodSpec> = {
  "app.info": {
    scopes: null,
    run: ({ state, caller }) => {
      const { app, options } = state;
      // Another local app's token: that app (installed, version 1), as its own frames see it.
      const other = caller.grant.otherApp;
      return {
        ID: other ? app.id + 1 : app.id,
        CODE: other ?? app.code,
        VERSION: other ? 1 : app.version,
        STATUS: other ? "L" : app.status,
        INSTALLED: other ? true : app.installed,
        PAYMENT_EXPIRED: app.paymentExpired ? "Y" : "N",
        DAYS: null,
        LANGUAGE_ID: options.language,
        LICENSE: state.license,
        LICENSE_TYPE: options.plan,
        LICENSE_FAMILY: options.plan.replace(/\d+$/, ""),
      };
    },
  },
  profile: {
    scopes: null,
    run: ({ caller: { user } }) => ({
      ID: String(user.id),
      ADMIN: user.admin,
      NAME: user.name,
      LAST_NAME: user.lastName,
      PERSONAL_GENDER: user.gender,
      TIME_ZONE: user.timeZone,
      TIME_ZONE_OFFSET: 0,
    }),
  },
  "user.admin": { scopes: null, run: ({ caller }) => caller.user.admin },
  scope: { scopes: null, run: ({ caller }) => caller.grant.scope },
};
