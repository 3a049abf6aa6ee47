import { assertEquals } from "../../tests/support/assert.ts";
import { type PortalChange, PortalChanges } from "./portal_changes.ts";

Deno.test("[portal_changes] every listener hears a change until it unsubscribes", () => {
  const changes = new PortalChanges();
  const first: PortalChange[] = [];
  const second: PortalChange[] = [];
  const stopFirst = changes.onChange((c) => first.push(c));
  changes.onChange((c) => second.push(c));
  changes.changed({ id: "p1", memberId: "m1" });
  stopFirst();
  changes.changed({ id: "p1", memberId: "m1" }, { uninstalled: true });
  assertEquals(first, [{ portalId: "p1", memberId: "m1" }]);
  assertEquals(second, [
    { portalId: "p1", memberId: "m1" },
    { portalId: "p1", memberId: "m1", uninstalled: true },
  ]);
});
