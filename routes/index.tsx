import { define, page, type RouteHandler } from "../lib/server/state.ts";
import { readPlacement } from "../lib/server/placement.ts";
import { type Lang, t } from "../lib/shared/i18n.ts";
import { AppError } from "../lib/server/errors.ts";
import { adoptAdminPage } from "../lib/server/bitrix/install.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import Phone, { type PhoneProps } from "../islands/Phone.tsx";
import Admin, { type AdminProps } from "../islands/Admin.tsx";

/** The page's data: a notice instead of the app, or the phone (and, for admins, the panel). */
type Data =
  | { lang: Lang; notice: string }
  | { lang: Lang; phone: PhoneProps; admin?: AdminProps };

/**
 * The app page (Bitrix24's DEFAULT placement and the left-menu item): the employee's phone,
 * and the admin panel for administrators. The frame's token is checked with the portal before
 * anything is rendered for it.
 */
const appPage: RouteHandler<Data> = async (c) => {
  const placement = await readPlacement(c);
  const { lang } = placement;
  if (!placement.AUTH_ID || !placement.member_id) {
    return page({ lang, notice: t(lang, "installOutsideFrame") });
  }
  const auth = {
    authId: placement.AUTH_ID,
    memberId: placement.member_id,
    expiresIn: Number(placement.AUTH_EXPIRES) || undefined,
  };
  let user;
  try {
    user = await c.var.services.bitrix.frameAuth.verify(
      auth.memberId,
      auth.authId,
      auth.expiresIn,
      c.var.client.ip,
    );
  } catch (err) {
    if (err instanceof AppError && err.status === 401) {
      return page({ lang, notice: t(lang, "notInstalled") }, 401);
    }
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
  return page({
    lang,
    phone: { lang, auth },
    admin: user.isAdmin
      ? {
        lang,
        auth,
        appKind: user.portal.appKind,
        blocked: user.portal.blockedReason,
        serverTokensDead: !serverTokens,
      }
      : undefined,
  });
};

export const handler = define.handlers<Data>({ GET: appPage, POST: appPage });

export default define.page<typeof handler>(function AppPage({ data }) {
  const title = t(data.lang, "appTitle");
  if ("notice" in data) {
    return (
      <Layout title={title} lang={data.lang} scripts={[]}>
        <main class="card notice">
          <h1>{title}</h1>
          <p>{data.notice}</p>
        </main>
      </Layout>
    );
  }
  return (
    <Layout title={title} lang={data.lang}>
      <div class="page">
        <Island name="Phone" component={Phone} props={{ ...data.phone }} />
        {data.admin && <Island name="Admin" component={Admin} props={{ ...data.admin }} />}
      </div>
    </Layout>
  );
});
