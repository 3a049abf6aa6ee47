import type { Handler } from "hono";
import { type AppEnv, define } from "../lib/server/http.ts";
import { readPlacement } from "../lib/server/placement.ts";
import { render } from "../components/render.tsx";
import { t } from "../lib/shared/i18n.ts";
import { AppError } from "../lib/server/errors.ts";
import { adoptAdminPage } from "../lib/server/bitrix/install.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import Phone from "../islands/Phone.tsx";
import Admin from "../islands/Admin.tsx";

/**
 * The app page (Bitrix24's DEFAULT placement and the left-menu item): the employee's phone,
 * and the admin panel for administrators. The frame's token is checked with the portal before
 * anything is rendered for it.
 */
const appPage: Handler<AppEnv> = async (c) => {
  const placement = await readPlacement(c);
  const { lang } = placement;
  const notice = (text: string, status: 200 | 401 = 200) =>
    render(
      c,
      <Layout title={t(lang, "appTitle")} lang={lang} scripts={[]}>
        <main class="card notice">
          <h1>{t(lang, "appTitle")}</h1>
          <p>{text}</p>
        </main>
      </Layout>,
      status,
    );
  if (!placement.AUTH_ID || !placement.member_id) {
    return notice(t(lang, "installOutsideFrame"));
  }
  const auth = {
    authId: placement.AUTH_ID,
    memberId: placement.member_id,
    expiresIn: Number(placement.AUTH_EXPIRES) || undefined,
  };
  let user;
  try {
    user = await c.var.services.bitrix.frameAuth.verify(auth.memberId, auth.authId, auth.expiresIn);
  } catch (err) {
    if (err instanceof AppError && err.status === 401) return notice(t(lang, "notInstalled"), 401);
    throw err;
  }
  // An administrator's verified frame tells the portal's OAuth server (an employee's is not
  // trusted to change where refreshes go).
  if (user.isAdmin) {
    await c.var.services.bitrix.clients.noteServerEndpoint(user.portal, placement.SERVER_ENDPOINT);
  }
  const { serverTokens } = await adoptAdminPage(c.var.services, user, {
    AUTH_ID: auth.authId,
    AUTH_EXPIRES: auth.expiresIn,
    REFRESH_ID: placement.REFRESH_ID,
    APPLICATION_TOKEN: placement.APPLICATION_TOKEN,
  });
  return render(
    c,
    <Layout title={t(lang, "appTitle")} lang={lang}>
      <div class="page">
        <Island name="Phone" component={Phone} props={{ lang, auth }} />
        {user.isAdmin && (
          <Island
            name="Admin"
            component={Admin}
            props={{
              lang,
              auth,
              appKind: user.portal.appKind,
              blocked: user.portal.blockedReason,
              serverTokensDead: !serverTokens,
            }}
          />
        )}
      </div>
    </Layout>,
  );
};

export const handler = define.handlers({ GET: appPage, POST: appPage });
