/**
 * The page header's user and language switches (each reloads the page).
 *
 * @module
 */
import { byTestId } from "./page.ts";

/** Handles the switches. */
export function listenToHeader(): void {
  byTestId("user-switch")?.addEventListener("change", (e) => {
    const u = new URL(location.href);
    u.pathname = `/page/${(e.target as HTMLSelectElement).value}`;
    u.searchParams.delete("install_finished");
    location.href = u.toString();
  });
  byTestId("lang-switch")?.addEventListener("change", (e) => {
    const u = new URL(location.href);
    u.searchParams.set("lang", (e.target as HTMLSelectElement).value);
    location.href = u.toString();
  });
}
