/**
 * Phones of two scopes (two portals' users) in one browser profile, on both hosts: each scope has
 * its own engine and registration, a call's journal reaches only its own scope's pages, and a
 * page that opens another scope's engine by its name is refused. (The Bitrix24 pages' version,
 * in cross-site frames on the fallback host: `tests/reliability/browser_tenants_attack_test.ts`.)
 */
import type { Page } from "playwright-core";
import { assert, assertEquals, assertMatch, assertNotEquals } from "../support/assert.ts";
import { launchChromium } from "../support/chromium.ts";
import { startKamailio } from "../kamailio/kamailio.ts";
import { phoneBundles, PhonePage, startPageServer } from "./harness.ts";
import { phoneTest } from "./gate.ts";
import { waitFor } from "../support/wait.ts";

phoneTest(
  "[phone] two scopes in one browser: engines, registrations and journals apart",
  async (t) => {
    await using kam = await startKamailio();
    await using server = startPageServer(await phoneBundles());
    await using browser = await launchChromium();
    const context = await browser.newContext();
    const bob = await PhonePage.open(
      await (await browser.newContext()).newPage(),
      server.origin,
      "bob",
    );
    await bob.register("bob", kam.wsUrl);
    const journal = (p: PhonePage) =>
      p.evaluate(() => (globalThis as { T?: { journal: unknown[] } }).T!.journal.length);

    for (const host of ["worker", "tab"] as const) {
      await t.step(`${host} host`, async () => {
        const [scopeA, scopeB] = [`${host}a`, `${host}b`];
        const [userA, userB] = [`alice${host}`, `carol${host}`];
        const open = async (name: string, scope: string) =>
          PhonePage.open(await context.newPage(), server.origin, name, { host, scope });
        const a1 = await open("a1", scopeA);
        const a2 = await open("a2", scopeA);
        const b1 = await open("b1", scopeB);
        assertEquals([(await a1.state()).host, (await b1.state()).host], [host, host]);
        await a1.register(userA, kam.wsUrl);
        await b1.register(userB, kam.wsUrl);
        assertEquals(
          (await a2.state()).registration.sipUri,
          (await a1.state()).registration.sipUri,
        );
        assertEquals((await a2.state()).engineId, (await a1.state()).engineId, "one engine for A");
        assertNotEquals((await b1.state()).engineId, (await a1.state()).engineId);
        assertEquals([await kam.contacts(userA), await kam.contacts(userB)], [1, 1]);

        // A call to A's user: A's pages see it and report it; B's page never hears of it.
        const out = await bob.call(userA);
        await a1.waitForCall("incoming", "inbound", 10_000);
        await bob.run((p, id) => p.hangup(id), out.id);
        await a1.waitForCall("ended");
        await waitFor(
          "A's journal",
          async () => (await journal(a1)) + (await journal(a2)) >= 2 || undefined,
        );
        assertEquals([(await b1.state()).calls.length, await journal(b1)], [0, 0]);

        // A page of no scope (or another) opening A's engine by its name is refused.
        const rogue: Page = await context.newPage();
        await rogue.goto(`${server.origin}/phone.html`);
        const attempt = await rogue.evaluate(
          ([h, name]) =>
            (globalThis as unknown as { T: { connect(o: unknown): Promise<unknown> } }).T
              .connect({ host: h, name }).then(
                () => "joined",
                (e: { code?: string; message: string }) => `${e.code}: ${e.message}`,
              ),
          [host, `phone-${scopeA}`] as const,
        );
        assertMatch(attempt, /^host-unavailable: .*another portal or user/);
        assertEquals((await a1.state()).registration.state, "registered");
        assertEquals([await kam.contacts(userA), await kam.contacts(userB)], [1, 1]);
        assert((await a1.state()).calls.every((c) => c.state === "ended"));
        for (const page of [a1, a2, b1]) await (page.target as Page).close();
        await rogue.close();
      });
    }
  },
);
