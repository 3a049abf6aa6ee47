/**
 * Encryption at rest: AES-256-GCM through `node:crypto`, synchronously (an order of magnitude
 * cheaper per value than Web Crypto's promise round trip; the bytes are the same). Every sealed
 * value is bound to the identity of the row and field that holds it (additional authenticated
 * data), so a ciphertext copied to another row or column fails to open.
 *
 * Format: `v1:<keyId>:<base64 iv>:<base64 ciphertext+tag>`.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from "node:crypto";
import type { KeyRing } from "./provider.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** GCM authentication tag length; the tag follows the ciphertext, as Web Crypto writes it. */
const TAG_BYTES = 16;

/** A value could not be opened: wrong key, wrong row, or tampered. */
export class DecryptError extends Error {
  constructor(message = "cannot decrypt value") {
    super(message);
    this.name = "DecryptError";
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Returns 32 random bytes as base64: a fresh AES-256 key. */
export function generateKey(): string {
  return toBase64(crypto.getRandomValues(new Uint8Array(32)));
}

/** The additional data naming where a value lives, e.g. `aad("sip_accounts", id, "password")`. */
export function aad(table: string, rowId: string, field: string): string {
  return `${table}|${rowId}|${field}`;
}

/** What repositories need to seal and open values. */
export interface Sealer {
  seal(plaintext: string, additionalData: string): Promise<string>;
  open(sealed: string, additionalData: string): Promise<string>;
}

/** Seals and opens secrets with the keys of a key ring. */
export class SecretBox implements Sealer {
  private constructor(
    private readonly activeId: string,
    private readonly keys: Map<string, KeyObject>,
  ) {}

  /** Imports every key of `ring`. Throws if the active key is missing or malformed. */
  static fromKeyRing(ring: KeyRing): SecretBox {
    if (!(ring.active in ring.keys)) {
      throw new Error(`active key ${ring.active} is not in the ring`);
    }
    const keys = new Map<string, KeyObject>();
    for (const [id, b64] of Object.entries(ring.keys)) {
      if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error("key ids must be alphanumeric");
      const raw = fromBase64(b64);
      if (raw.length !== 32) throw new Error(`key ${id} is not 32 bytes`);
      keys.set(id, createSecretKey(raw));
      raw.fill(0);
    }
    return new SecretBox(ring.active, keys);
  }

  /** Whether the ring holds key `id`. */
  hasKey(id: string): boolean {
    return this.keys.has(id);
  }

  /** The id of the key new values are sealed with. */
  get activeKeyId(): string {
    return this.activeId;
  }

  /** Encrypts `plaintext` bound to `additionalData` with the active key. */
  seal(plaintext: string, additionalData: string): Promise<string> {
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(this.activeId)!, iv);
    cipher.setAAD(encoder.encode(additionalData));
    const head = cipher.update(encoder.encode(plaintext));
    const sealed = concatBytes(head, cipher.final(), cipher.getAuthTag());
    return Promise.resolve(`v1:${this.activeId}:${toBase64(iv)}:${toBase64(sealed)}`);
  }

  /** Decrypts a sealed value; throws `DecryptError` on any mismatch. */
  open(sealed: string, additionalData: string): Promise<string> {
    try {
      return Promise.resolve(this.openSync(sealed, additionalData));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private openSync(sealed: string, additionalData: string): string {
    const parts = sealed.split(":");
    if (parts.length !== 4 || parts[0] !== "v1") throw new DecryptError("unknown format");
    const key = this.keys.get(parts[1]);
    if (!key) throw new DecryptError(`unknown key ${parts[1]}`);
    try {
      const iv = fromBase64(parts[2]);
      const data = fromBase64(parts[3]);
      if (iv.length !== 12 || data.length < TAG_BYTES) throw new DecryptError();
      const decipher = createDecipheriv("aes-256-gcm", key, iv);
      decipher.setAAD(encoder.encode(additionalData));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const head = decipher.update(data.subarray(0, data.length - TAG_BYTES));
      return decoder.decode(concatBytes(head, decipher.final()));
    } catch {
      throw new DecryptError();
    }
  }

  /** The key id a sealed value was made with (for rotation). */
  static keyIdOf(sealed: string): string | undefined {
    return sealed.split(":")[1];
  }
}

/**
 * A `Sealer` that loads its key ring from `load` on first use, again after a failure (so a
 * provider that was down at start, such as a sealed Vault, recovers without a restart), and
 * again when a value names a key it does not have (another instance rotated the key).
 */
export function lazySealer(load: () => Promise<KeyRing>): Sealer {
  let box: Promise<SecretBox> | undefined;
  const get = (reload = false) => {
    if (reload) box = undefined;
    box ??= load().then((ring) => SecretBox.fromKeyRing(ring));
    box.catch(() => box = undefined);
    return box;
  };
  return {
    seal: async (plaintext, additionalData) => (await get()).seal(plaintext, additionalData),
    open: async (sealed, additionalData) => {
      const current = await get();
      const keyId = SecretBox.keyIdOf(sealed);
      const known = keyId !== undefined && current.hasKey(keyId);
      return (known ? current : await get(true)).open(sealed, additionalData);
    },
  };
}
