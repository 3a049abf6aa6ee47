import { assertEquals } from "../../../tests/support/assert.ts";
import { checkPortalAddress, matchesPortalHost } from "./portal_address.ts";

const cloud = { portalHosts: ["*.bitrix24.ru", "crm.example.com"], allowLoopback: false };
const dev = { ...cloud, allowLoopback: true };
const refused = (url: string, policy = cloud, vouched = false) =>
  "refused" in checkPortalAddress(url, policy, vouched);

Deno.test("[portal address] a portal host on the list is accepted at its https REST root", () => {
  assertEquals(checkPortalAddress("https://Acme.Bitrix24.ru", cloud, false), {
    clientEndpoint: "https://acme.bitrix24.ru/rest/",
    domain: "acme.bitrix24.ru",
  });
  assertEquals(refused("https://crm.example.com/rest/"), false);
});

Deno.test("[portal address] unless vouched for, a host off the list is refused", () => {
  assertEquals(refused("https://attacker.example/"), true);
  assertEquals(refused("https://bitrix24.ru.attacker.example/"), true);
  assertEquals(refused("https://acme.bitrix24.ru:8443/"), true);
  assertEquals(refused("https://attacker.example/", cloud, true), false);
});

Deno.test("[portal address] IP literals, loopback and special-use names are never portals outside development", () => {
  for (
    const url of [
      "https://127.0.0.1:9/",
      "https://2130706433/",
      "https://0x7f.1/",
      "https://10.0.0.5/",
      "https://192.168.1.1/",
      "https://[::1]/",
      "https://[fd00::1]/",
      "https://localhost/",
      "https://portal/",
      "https://crm.internal/",
      "https://box.local/",
      "http://acme.bitrix24.ru/",
      "https://user:pw@acme.bitrix24.ru/",
    ]
  ) {
    assertEquals(refused(url, cloud, true), true, url);
  }
});

Deno.test("[portal address] development accepts loopback portals, over http too, and nothing more", () => {
  assertEquals(checkPortalAddress("http://127.0.0.1:4100", dev, false), {
    clientEndpoint: "http://127.0.0.1:4100/rest/",
    domain: "127.0.0.1:4100",
  });
  assertEquals(refused("http://localhost:4100/", dev), false);
  assertEquals(refused("https://10.0.0.5/", dev, true), true);
  assertEquals(refused("http://acme.bitrix24.ru/", dev), true);
});

Deno.test("[portal address] host patterns: exact names, *.domain for subdomains, ports must match", () => {
  assertEquals(matchesPortalHost("a.bitrix24.de", "*.bitrix24.de"), true);
  assertEquals(matchesPortalHost("bitrix24.de", "*.bitrix24.de"), false);
  assertEquals(matchesPortalHost("a.bitrix24.de:444", "*.bitrix24.de"), false);
  assertEquals(matchesPortalHost("crm.example.com:8443", "crm.example.com:8443"), true);
  assertEquals(matchesPortalHost("crm.example.com", "CRM.example.com"), true);
});
