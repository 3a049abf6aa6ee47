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
    run: ({ state }) => {
      const { app, options } = state;
      return {
        ID: app.id,
        CODE: app.code,
        VERSION: app.version,
        STATUS: app.status,
        INSTALLED: app.installed,
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
