/**
 * CRM click-to-call: phone links (`data-call-phone`), the CRM dial form, and `imPhoneTo`.
 *
 * @module
 */
import { post } from "./api.ts";
import { record } from "./log.ts";
import { byTestId } from "./page.ts";

/** Asks the emulator to start a CRM click-to-call (it fires ONEXTERNALCALLSTART). */
export function clickToCall(body: Record<string, unknown>): void {
  post("click-to-call", body).then((r) => {
    record({ kind: "card", name: "click-to-call", callId: r.callId, params: body });
  }).catch((err) => console.error(err));
}

/** Handles the page's phone links and the dial form. */
export function listenForClickToCall(): void {
  document.addEventListener("click", (e) => {
    const el = (e.target as Element | null)?.closest<HTMLElement>("[data-call-phone]");
    if (!el) return;
    e.preventDefault();
    clickToCall({
      phoneNumber: el.dataset.callPhone,
      crmEntityType: el.dataset.entityType || undefined,
      crmEntityId: el.dataset.entityId ? Number(el.dataset.entityId) : undefined,
    });
  });
  byTestId("crm-dial-form")?.addEventListener("submit", (e) => {
    e.preventDefault();
    const input = byTestId("crm-dial-input") as HTMLInputElement | null;
    const phoneNumber = input?.value.trim() ?? "";
    if (phoneNumber) clickToCall({ phoneNumber });
  });
}
