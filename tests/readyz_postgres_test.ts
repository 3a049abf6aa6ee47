import { assertEquals, assertStringIncludes } from "./support/assert.ts";
import { openTestApp } from "./support/app.ts";
import { noPostgres, startPostgres } from "./support/postgres.ts";
import { readiness, waitUntilReady } from "./support/http.ts";

Deno.test({
  name: "[readyz] PostgreSQL stopped → 503 with the reason; started again → 200, same process",
  ignore: noPostgres,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    try {
      await using app = await openTestApp({ DATABASE_URL: pg.url });
      const ready = () => readiness(app);
      assertEquals((await ready()).status, 200);

      await pg.stop();
      const down = await ready();
      assertEquals(down.status, 503);
      assertEquals(down.body.ready, false);
      assertEquals(down.body.checks.database.ok, false);
      assertStringIncludes(down.body.checks.database.reason ?? "", "database unreachable");
      assertEquals(down.body.checks.secrets.ok, true);

      // A request that needs the database meanwhile: 503, not 500.
      const event = await app.request("/api/bitrix/callback", {
        method: "POST",
        body: new URLSearchParams({
          event: "ONAPPUNINSTALL",
          "auth[member_id]": "m1",
          "auth[application_token]": "t",
        }),
      });
      assertEquals(event.status, 503);
      assertEquals((await event.json()).error.code, "unavailable");

      await pg.start();
      const up = await waitUntilReady(app, { timeoutMs: 5_000, intervalMs: 250 });
      assertEquals(up.body.checks.database, { ok: true });
    } finally {
      await pg.close();
    }
  },
});
