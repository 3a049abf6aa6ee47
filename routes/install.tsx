import { define, page, type RouteHandler } from "../lib/server/state.ts";
import { parseWith } from "../lib/server/http.ts";
import { readPageFields } from "../lib/server/placement.ts";
import { installPortal, installRequestSchema } from "../lib/server/bitrix/install.ts";
import { pickLang } from "../lib/shared/i18n.ts";
import { Layout } from "../components/Layout.tsx";
import { Island } from "../components/Island.tsx";
import Installer, { type InstallerProps } from "../islands/Installer.tsx";

/**
 * The installer page Bitrix24 opens for an administrator: verifies the request with the portal,
 * records the portal and binds everything, then the island finishes the installation through
 * the frame (`installFinish`).
 */
const install: RouteHandler<InstallerProps> = async (c) => {
  const fields = await readPageFields(c);
  const lang = pickLang(typeof fields.LANG === "string" ? fields.LANG : undefined);
  const request = parseWith(installRequestSchema, fields);
  const { portal, created } = await installPortal(c.var.services, request, c.var.client.ip);
  return page({ lang, domain: portal.domain, created });
};

export const handler = define.handlers<InstallerProps>({ GET: install, POST: install });

export default define.page<typeof handler>(function InstallPage({ data }) {
  return (
    <Layout title="Installation" lang={data.lang}>
      <Island name="Installer" component={Installer} props={{ ...data }} />
    </Layout>
  );
});
