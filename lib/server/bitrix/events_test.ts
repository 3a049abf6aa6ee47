import { assert, assertEquals } from "../../../tests/support/assert.ts";
import { testBothEngines } from "../../../tests/support/db.ts";
import { PortalRepo } from "../db/portals.ts";
import { PortalChanges } from "../portal_changes.ts";
import { EventAuthenticator } from "./events.ts";

testBothEngines(
  "[events] application tokens: a match is remembered, a refusal is not, a change told forgets at once",
  async ({ database, box }) => {
    const portals = new PortalRepo(database.db, box);
    const { portal } = await portals.upsertInstall({
      memberId: "m-1",
      domain: "acme.bitrix24.ru",
      clientEndpoint: "https://acme.bitrix24.ru/rest/",
      tokens: { accessToken: "a", refreshToken: "r", expiresAt: new Date(Date.now() + 3600_000) },
    });
    const changes = new PortalChanges();
    const auth = new EventAuthenticator({ portals, changes });
    assertEquals(await auth.verify("m-1", "app-token"), undefined, "no token stored yet");
    await portals.setApplicationToken(portal.id, "app-token");
    assertEquals((await auth.verify("m-1", "app-token"))?.id, portal.id, "refusals are not kept");
    assertEquals(await auth.verify("m-1", "app-tokeN"), undefined);
    assertEquals(await auth.verify("m-2", "app-token"), undefined, "the token of another member");

    // A stored token is never replaced…
    assertEquals(await portals.setApplicationToken(portal.id, "new-token"), false);
    assertEquals(await portals.verifyApplicationToken("m-1", "new-token"), undefined);
    // …but another instance's uninstall and reinstall change it; this one trusts the old for a
    // few seconds…
    await portals.uninstall(portal.id, false);
    assertEquals(await portals.setApplicationToken(portal.id, "new-token"), true);
    assertEquals((await auth.verify("m-1", "app-token"))?.id, portal.id);
    // …unless it handled the change itself.
    changes.changed(portal);
    assertEquals(await auth.verify("m-1", "app-token"), undefined);
    assert(await auth.verify("m-1", "new-token"));
  },
);
