/**
 * Who is calling: `GETCALLER` asks the emulated portal's CRM
 * (`telephony.externalCall.searchCrmEntities`, the real answer's shape) and keeps the answer
 * briefly per portal and number.
 *
 * @module
 */
import { assertEquals } from "./support/assert.ts";
import { startBitrixHarness } from "./support/bitrix.ts";
import { readJson } from "./support/http.ts";

const ANNA = 2;
const options = { sanitizeResources: false, sanitizeOps: false };

Deno.test({
  name: "[caller] the CRM's name, company and responsible employee of a number; cached briefly",
  ...options,
  async fn() {
    await using h = await startBitrixHarness();
    assertEquals((await h.install()).status, 200);
    const creds = { clientId: h.portal.app.clientId, secretId: h.portal.app.clientSecret };
    assertEquals((await h.widget(1, { event: "UPDATECREED", ...creds })).status, 200);
    const searches = () => h.portal.records.calls("telephony.externalCall.searchCrmEntities");
    const caller = async (number: string) => {
      const answer = await readJson(await h.widget(ANNA, { event: "GETCALLER", number }));
      assertEquals(answer.status, 200);
      return answer.body.caller;
    };
    // A contact (the CRM's digits differ from the phone's: the portal compares numbers).
    assertEquals(await caller("+79161234567"), {
      name: "Ольга Иванова",
      entityType: "CONTACT",
      entityId: 1,
      company: null,
      responsibleId: 2,
      responsiblePhoneInner: "102",
    });
    assertEquals(searches().length, 1);
    assertEquals(searches()[0].params.PHONE_NUMBER, "+79161234567");
    // A company.
    assertEquals((await caller("84951234567"))?.name, "ООО «Ромашка»");
    // Unknown numbers are null.
    assertEquals(await caller("+10000000000"), null);
    // Asked again within the minute: the answer is reused.
    assertEquals((await caller("+79161234567"))?.name, "Ольга Иванова");
    assertEquals(searches().length, 3);
    // A bad number is refused before the portal is asked.
    const bad = await h.widget(ANNA, { event: "GETCALLER", number: "<script>" });
    assertEquals(bad.status, 400);
    await bad.body?.cancel();
  },
});
