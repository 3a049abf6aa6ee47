/**
 * The embedded-default secrets provider: app credentials from the environment and an
 * encryption key from `ENCRYPTION_KEY` or a key file generated on first start (mode 0600).
 *
 * @module
 */
import type { AppSecrets, KeyRing, ProviderHealth, SecretsProvider } from "./provider.ts";
import { generateKey } from "./crypto.ts";

/** Options of the local provider. */
export interface LocalSecretsOptions {
  /** Key file path; created with a fresh key when missing. */
  keyFile: string;
  /** A base64 key given directly (wins over the file; nothing is written). */
  encryptionKey?: string;
  /** Marketplace credentials from the environment. */
  bitrixClientId?: string;
  bitrixClientSecret?: string;
}

const JSON_OBJECT = /^\{[\s\S]*\}$/;

/** Local provider: the key ring lives in a JSON file `{ active, keys }` (or one base64 key). */
export class LocalSecrets implements SecretsProvider {
  readonly kind = "local" as const;
  private ring?: KeyRing;

  constructor(private readonly options: LocalSecretsOptions) {}

  appSecrets(): Promise<AppSecrets> {
    return Promise.resolve({
      bitrixClientId: this.options.bitrixClientId,
      bitrixClientSecret: this.options.bitrixClientSecret,
    });
  }

  async keyRing(): Promise<KeyRing> {
    if (this.ring) return this.ring;
    if (this.options.encryptionKey) {
      return this.ring = { active: "1", keys: { "1": this.options.encryptionKey } };
    }
    return this.ring = await readOrCreateKeyFile(this.options.keyFile);
  }

  async health(): Promise<ProviderHealth> {
    try {
      await this.keyRing();
      return { ok: true };
    } catch (err) {
      return { ok: false, reason: `local key unavailable: ${(err as Error).name}` };
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** Reads a key ring file, or creates it (mode 0600) with one fresh key. */
export async function readOrCreateKeyFile(path: string): Promise<KeyRing> {
  try {
    return parseKeyFile(await Deno.readTextFile(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const ring: KeyRing = { active: "1", keys: { "1": generateKey() } };
  const dir = path.replace(/\/[^/]*$/, "");
  if (dir && dir !== path) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(path, JSON.stringify(ring) + "\n", { mode: 0o600, createNew: true });
  return ring;
}

/** Writes a key ring file atomically (used by key rotation). */
export async function writeKeyFile(path: string, ring: KeyRing): Promise<void> {
  const tmp = `${path}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(ring) + "\n", { mode: 0o600 });
  await Deno.rename(tmp, path);
}

function parseKeyFile(text: string): KeyRing {
  const trimmed = text.trim();
  if (JSON_OBJECT.test(trimmed)) {
    const ring = JSON.parse(trimmed) as KeyRing;
    if (typeof ring.active !== "string" || typeof ring.keys !== "object") {
      throw new Error("key file must hold { active, keys }");
    }
    return ring;
  }
  return { active: "1", keys: { "1": trimmed } };
}
