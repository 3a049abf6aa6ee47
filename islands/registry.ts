/** Island name → lazy module, so each island is its own chunk. */
// deno-lint-ignore no-explicit-any
export const islands: Record<string, () => Promise<{ default: any }>> = {
  Phone: () => import("./Phone.tsx"),
  Installer: () => import("./Installer.tsx"),
  Admin: () => import("./Admin.tsx"),
};
