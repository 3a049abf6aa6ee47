import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
} from "../../../tests/support/assert.ts";
import { aad, DecryptError, generateKey, lazySealer, SecretBox } from "./crypto.ts";
import { LocalSecrets } from "./local.ts";

Deno.test("[crypto] seal/open round trip, random IVs, bound to the row", async () => {
  const box = SecretBox.fromKeyRing({ active: "1", keys: { "1": generateKey() } });
  const where = aad("sip_accounts", "row-1", "password");
  const a = await box.seal("hunter2", where);
  const b = await box.seal("hunter2", where);
  assertNotEquals(a, b);
  assert(a.startsWith("v1:1:") && !a.includes("hunter2"));
  assertEquals(await box.open(a, where), "hunter2");
  await assertRejects(() => box.open(a, aad("sip_accounts", "row-2", "password")), DecryptError);
  const tampered = a.slice(0, -4) + (a.endsWith("AAAA") ? "BBBB" : "AAAA");
  await assertRejects(() => box.open(tampered, where), DecryptError);
});

Deno.test("[crypto] the format is Web Crypto's AES-GCM: values sealed either way open", async () => {
  const key = generateKey();
  const box = SecretBox.fromKeyRing({ active: "k", keys: { k: key } });
  const webKey = await crypto.subtle.importKey(
    "raw",
    Uint8Array.from(atob(key), (ch) => ch.charCodeAt(0)),
    "AES-GCM",
    false,
    ["encrypt", "decrypt"],
  );
  const where = new TextEncoder().encode("portals|p1|access_token");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealedByWebCrypto = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: where },
      webKey,
      new TextEncoder().encode("токен-1"),
    ),
  );
  const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
  assertEquals(
    await box.open(`v1:k:${b64(iv)}:${b64(sealedByWebCrypto)}`, "portals|p1|access_token"),
    "токен-1",
  );
  const [, , ivText, dataText] = (await box.seal("секрет", "portals|p1|access_token")).split(":");
  const fromB64 = (text: string) => Uint8Array.from(atob(text), (ch) => ch.charCodeAt(0));
  const opened = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: fromB64(ivText), additionalData: where },
    webKey,
    fromB64(dataText),
  );
  assertEquals(new TextDecoder().decode(opened), "секрет");
  await assertRejects(() => box.open("v1:k:AAAA:AAAA", "x"), DecryptError);
});

Deno.test("[crypto] old keys still open after rotation", async () => {
  const k1 = generateKey();
  const old = SecretBox.fromKeyRing({ active: "1", keys: { "1": k1 } });
  const sealed = await old.seal("token", "x");
  const rotated = SecretBox.fromKeyRing({
    active: "2",
    keys: { "1": k1, "2": generateKey() },
  });
  assertEquals(await rotated.open(sealed, "x"), "token");
  assertEquals(SecretBox.keyIdOf(await rotated.seal("token", "x")), "2");
});

Deno.test("[crypto] lazy sealer retries a provider that failed", async () => {
  let calls = 0;
  const key = generateKey();
  const sealer = lazySealer(() => {
    calls++;
    return calls === 1
      ? Promise.reject(new Error("vault sealed"))
      : Promise.resolve({ active: "1", keys: { "1": key } });
  });
  await assertRejects(() => sealer.seal("x", "y"), Error, "vault sealed");
  assertEquals(await sealer.open(await sealer.seal("x", "y"), "y"), "x");
  assertEquals(calls, 2);
});

Deno.test("[crypto] lazy sealer reloads the ring when a value names a key it lacks", async () => {
  const k1 = generateKey();
  const k2 = generateKey();
  let ring = { active: "1", keys: { "1": k1 } as Record<string, string> };
  const sealer = lazySealer(() => Promise.resolve(ring));
  await sealer.seal("warm", "x");
  const rotated = SecretBox.fromKeyRing({ active: "2", keys: { "1": k1, "2": k2 } });
  const sealedElsewhere = await rotated.seal("new", "x");
  ring = { active: "2", keys: { "1": k1, "2": k2 } };
  assertEquals(await sealer.open(sealedElsewhere, "x"), "new");
});

Deno.test("[secrets] local provider generates a 0600 key file once and reuses it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const keyFile = `${dir}/sub/master.key`;
    const first = await new LocalSecrets({ keyFile }).keyRing();
    assertEquals((await Deno.stat(keyFile)).mode! & 0o777, 0o600);
    assertEquals(await new LocalSecrets({ keyFile }).keyRing(), first);
    assertEquals((await new LocalSecrets({ keyFile }).health()).ok, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
