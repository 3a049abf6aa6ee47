import "../../../tests/support/logs.ts";
import { assertEquals } from "../../../tests/support/assert.ts";
import type { Portal } from "../db/portals.ts";
import { CallerLookup, callerOf } from "./caller_lookup.ts";

const assigned = { ID: "99", TIMEMAN_STATUS: "CLOSED", USER_PHONE_INNER: null };

Deno.test("[caller] the first record, with a company that has the number too (the docs' answer)", () => {
  assertEquals(
    callerOf([
      {
        CRM_ENTITY_TYPE: "CONTACT",
        CRM_ENTITY_ID: 651,
        ASSIGNED_BY_ID: 99,
        NAME: "John Doe",
        ASSIGNED_BY: assigned,
      },
      {
        CRM_ENTITY_TYPE: "COMPANY",
        CRM_ENTITY_ID: 643,
        ASSIGNED_BY_ID: 99,
        NAME: "Daisy LLC",
        ASSIGNED_BY: assigned,
      },
    ]),
    {
      name: "John Doe",
      entityType: "CONTACT",
      entityId: 651,
      company: "Daisy LLC",
      responsibleId: 99,
      responsiblePhoneInner: null,
    },
  );
  assertEquals(callerOf([]), null);
  assertEquals(callerOf([{ CRM_ENTITY_TYPE: "DEAL", CRM_ENTITY_ID: 1, NAME: "x" }]), null);
});

Deno.test("[caller] one REST call per portal and number within the TTL; failures are not kept", async () => {
  let now = 0;
  let calls = 0;
  let fail = true;
  const client = {
    call: () => {
      calls++;
      if (fail) return Promise.reject(new Error("portal down"));
      return Promise.resolve([{ CRM_ENTITY_TYPE: "LEAD", CRM_ENTITY_ID: 1, NAME: "Lead" }]);
    },
  };
  const lookup = new CallerLookup(
    { clients: { forPortal: () => Promise.resolve(client as never) } },
    { ttlMs: 1000, now: () => now },
  );
  const portal = { id: "p1", memberId: "m1" } as Portal;
  assertEquals(await lookup.lookup(portal, "+7 495"), null); // failed: unknown, not kept
  fail = false;
  const [a, b] = await Promise.all([
    lookup.lookup(portal, "+7495"),
    lookup.lookup(portal, "+7495"),
  ]);
  assertEquals([a?.name, b?.name, calls], ["Lead", "Lead", 2]);
  now = 999;
  await lookup.lookup(portal, "+7495");
  assertEquals(calls, 2);
  now = 1000;
  await lookup.lookup(portal, "+7495");
  assertEquals(calls, 3);
  await lookup.lookup({ ...portal, id: "p2" } as Portal, "+7495");
  assertEquals(calls, 4, "per portal");
});
