import { assertEquals } from "../../tests/support/assert.ts";
import { formatIceServers, parseIceServers } from "./ice_servers.ts";

Deno.test("[ice_servers] lines become servers, with a login and secret when given", () => {
  assertEquals(parseIceServers("stun:stun.example.com:3478\n\n  turn:t.example.com u s  \n"), [
    { urls: "stun:stun.example.com:3478" },
    { urls: "turn:t.example.com", username: "u", credential: "s" },
  ]);
});

Deno.test("[ice_servers] servers become lines that read back the same", () => {
  const servers = [
    { urls: ["turns:a.example.com:443", "turn:a.example.com"], username: "u", credential: "s" },
    { urls: "stun:b.example.com" },
  ];
  const text = formatIceServers(servers);
  assertEquals(text, "turns:a.example.com:443 u s\nstun:b.example.com");
  assertEquals(parseIceServers(text)[1], servers[1]);
});
