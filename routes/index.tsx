import type { Handler } from "hono";
import { type AppEnv, define } from "../lib/http.ts";
import { readPlacement } from "../lib/placement.ts";
import { render } from "../lib/render.tsx";
import { t } from "../lib/i18n.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import Phone from "../islands/Phone.tsx";

/** The app page (Bitrix24's DEFAULT placement and the left-menu item): the phone. */
const showPhone: Handler<AppEnv> = async (c) => {
  const placement = await readPlacement(c);
  return render(
    c,
    <Layout title={t(placement.lang, "appTitle")} lang={placement.lang}>
      <Island
        name="Phone"
        component={Phone}
        props={{ lang: placement.lang, domain: placement.DOMAIN ?? "" }}
      />
    </Layout>,
  );
};

export const handler = define.handlers({ GET: showPhone, POST: showPhone });
