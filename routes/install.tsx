import type { Handler } from "hono";
import { type AppEnv, define, parseWith } from "../lib/server/http.ts";
import { readPageFields } from "../lib/server/placement.ts";
import { installPortal, installRequestSchema } from "../lib/server/bitrix/install.ts";
import { pickLang } from "../lib/shared/i18n.ts";
import { render } from "../components/render.tsx";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import Installer from "../islands/Installer.tsx";

/**
 * The installer page Bitrix24 opens for an administrator: verifies the request with the portal,
 * records the portal and binds everything, then the island finishes the installation through
 * the frame (`installFinish`).
 */
const install: Handler<AppEnv> = async (c) => {
  const fields = await readPageFields(c);
  const lang = pickLang(typeof fields.LANG === "string" ? fields.LANG : undefined);
  const request = parseWith(installRequestSchema, fields);
  const { portal, created } = await installPortal(
    c.var.services,
    c.var.services.bitrix.clients,
    request,
  );
  return render(
    c,
    <Layout title="Installation" lang={lang}>
      <Island
        name="Installer"
        component={Installer}
        props={{ lang, domain: portal.domain, created }}
      />
    </Layout>,
  );
};

export const handler = define.handlers({ GET: install, POST: install });
