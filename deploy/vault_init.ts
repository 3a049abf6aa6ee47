/**
 * `vault-init`: prepares Vault for the app, safe to run on every `docker compose up`.
 *
 * 1. Waits for Vault. Uninitialized: initializes it only when `VAULT_INIT_KEYS_FILE` is set
 *    (unseal keys and root token go to that file, mode 0600: a conscious tradeoff, see
 *    `reference/vault.md` §4), otherwise waits for an operator. Sealed: unseals with the keys
 *    from that file when it exists, otherwise waits for an operator.
 * 2. Enables AppRole and a KV v2 mount when missing; writes the app's read-only policy and its
 *    AppRole role (same role_id on every run).
 * 3. Seeds `<mount>/data/<path>/app` with the Bitrix24 app credentials and database URL from its
 *    own environment (or `*_FILE`s): only fields that are missing are added, existing values
 *    are never overwritten. Creates `<path>/crypto` with a fresh random key only when absent:
 *    an existing (or deleted) key ring is never replaced.
 * 4. Writes `role_id` and a fresh `secret_id` to `VAULT_APPROLE_DIR` (mode 0600, chowned to
 *    `APP_UID`/`APP_GID` when set), then destroys the previous run's secret_id.
 *
 * Run: `deno run --allow-net --allow-read --allow-write --allow-env deploy/vault_init.ts`.
 *
 * @module
 */
import { z } from "zod";
import { log as rootLog } from "../lib/server/log.ts";
import {
  VaultError,
  vaultErrorOf,
  vaultFetch,
  type VaultHttpOptions,
  type VaultRequest,
  vaultRequest,
} from "../lib/server/secrets/vault.ts";

const log = rootLog.child({ component: "vault-init" });

/** App secrets the script seeds when missing (KV field names). */
export interface SeedSecrets {
  bitrix_client_id?: string;
  bitrix_client_secret?: string;
  database_url?: string;
}

/** Everything `runVaultInit` needs; `vaultInitOptionsFromEnv` builds it from the environment. */
export interface VaultInitOptions extends VaultHttpOptions {
  /** Admin token (root during bootstrap); defaults to the root token in `initKeysFile`. */
  token?: string;
  /** Where unseal keys and the root token are stored when this script initializes Vault. */
  initKeysFile?: string;
  /** Key shares / threshold for `sys/init`. @defaultValue 5 / 3 */
  initShares?: number;
  initThreshold?: number;
  /** How long to wait for Vault to answer and be unsealed. @defaultValue 120000 */
  waitMs?: number;
  /** Pause between health polls. @defaultValue 1000 */
  pollMs?: number;
  kvMount: string;
  kvPath: string;
  approleMount: string;
  roleName: string;
  policyName: string;
  /** Role token TTLs (Vault durations). */
  tokenTtl: string;
  tokenMaxTtl: string;
  /** secret_id lifetime; "0" = no expiry (it is rotated on every run anyway). */
  secretIdTtl: string;
  /** Directory shared with the app: `role_id`, `secret_id`, `secret_id_accessor`. */
  outputDir: string;
  /** Owner of the written files (the app's uid/gid in its container). */
  appUid?: number;
  appGid?: number;
  /** Values to add to the app secret when missing. */
  seed: SeedSecrets;
}

/** What a run changed (names only, never values). */
export interface VaultInitReport {
  initialized: boolean;
  unsealed: boolean;
  approleEnabled: boolean;
  kvMounted: boolean;
  appFieldsAdded: string[];
  keyCreated: boolean;
  previousSecretIdDestroyed: boolean;
}

const initKeysSchema = z.object({
  keys_base64: z.array(z.string()).min(1),
  root_token: z.string().min(1),
});
const mountsSchema = z.object({
  data: z.record(
    z.string(),
    z.object({ type: z.string(), options: z.record(z.string(), z.string()).nullish() }),
  ),
});
const dataSchema = <T extends z.ZodType>(inner: T) => z.object({ data: inner });
const kvSchema = dataSchema(z.object({
  data: z.record(z.string(), z.unknown()).nullable(),
  metadata: z.object({ version: z.number().int() }),
}));

/** Runs the whole initialization; returns what changed. Throws on anything it cannot fix. */
export async function runVaultInit(options: VaultInitOptions): Promise<VaultInitReport> {
  const report: VaultInitReport = {
    initialized: false,
    unsealed: false,
    approleEnabled: false,
    kvMounted: false,
    appFieldsAdded: [],
    keyCreated: false,
    previousSecretIdDestroyed: false,
  };
  await waitReady(options, report);
  const token = options.token ?? (await readInitKeys(options.initKeysFile))?.root_token;
  if (!token) throw new Error("no admin token: set VAULT_TOKEN or VAULT_TOKEN_FILE");
  const call = (method: VaultRequest["method"], path: string, body?: unknown) =>
    vaultRequest(options, { method, path, token, body });

  const auths = mountsSchema.parse(await call("GET", "sys/auth"));
  const approle = auths.data[`${options.approleMount}/`];
  if (!approle) {
    await call("POST", `sys/auth/${options.approleMount}`, {
      type: "approle",
      description: "bitrix app",
    });
    report.approleEnabled = true;
  } else if (approle.type !== "approle") {
    throw new Error(`auth mount ${options.approleMount}/ is ${approle.type}, not approle`);
  }

  const mounts = mountsSchema.parse(await call("GET", "sys/mounts"));
  const kv = mounts.data[`${options.kvMount}/`];
  if (!kv) {
    await call("POST", `sys/mounts/${options.kvMount}`, { type: "kv", options: { version: "2" } });
    report.kvMounted = true;
  } else if (kv.type !== "kv" || kv.options?.version !== "2") {
    throw new Error(`mount ${options.kvMount}/ is not KV version 2`);
  }

  const base = `${options.kvMount}/data/${options.kvPath}`;
  await call("PUT", `sys/policies/acl/${options.policyName}`, {
    policy: [
      "# Written by deploy/vault_init.ts: the app reads its own secrets and nothing else.",
      `path "${base}/*" { capabilities = ["read"] }`,
      `path "auth/token/lookup-self" { capabilities = ["read"] }`,
      `path "auth/token/renew-self" { capabilities = ["update"] }`,
      `path "auth/token/revoke-self" { capabilities = ["update"] }`,
      "",
    ].join("\n"),
  });
  const rolePath = `auth/${options.approleMount}/role/${options.roleName}`;
  await call("POST", rolePath, {
    token_policies: [options.policyName],
    token_ttl: options.tokenTtl,
    token_max_ttl: options.tokenMaxTtl,
    token_type: "service",
    secret_id_ttl: options.secretIdTtl,
    secret_id_num_uses: 0,
    bind_secret_id: true,
  });

  report.appFieldsAdded = await seedApp(options, token, `${base}/app`);
  report.keyCreated = await seedKeyRing(options, token, `${base}/crypto`);

  const roleId = dataSchema(z.object({ role_id: z.string().min(1) }))
    .parse(await call("GET", `${rolePath}/role-id`)).data.role_id;
  const secret = dataSchema(z.object({
    secret_id: z.string().min(1),
    secret_id_accessor: z.string().min(1),
  })).parse(
    await call("POST", `${rolePath}/secret-id`, {
      metadata: JSON.stringify({ source: "vault-init" }),
    }),
  ).data;
  const accessorFile = `${options.outputDir}/secret_id_accessor`;
  const previousAccessor = await readOptional(accessorFile);
  await Deno.mkdir(options.outputDir, { recursive: true });
  await writePrivate(options, "role_id", roleId);
  await writePrivate(options, "secret_id", secret.secret_id);
  await writePrivate(options, "secret_id_accessor", secret.secret_id_accessor);
  if (previousAccessor && previousAccessor !== secret.secret_id_accessor) {
    try {
      await call("POST", `${rolePath}/secret-id-accessor/destroy`, {
        secret_id_accessor: previousAccessor,
      });
      report.previousSecretIdDestroyed = true;
    } catch (err) {
      if (!(err instanceof VaultError && err.kind === "bad_request")) throw err;
      log.info("vault_init.previous_secret_id_gone"); // expired or destroyed already
    }
  }
  log.info("vault_init.done", { ...report });
  return report;
}

/** Polls `sys/health` until Vault is initialized and unsealed (doing both when it may). */
async function waitReady(options: VaultInitOptions, report: VaultInitReport): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? 120_000);
  let lastState = "";
  for (;;) {
    let state: "unreachable" | "uninitialized" | "sealed" | "ready" | "other";
    try {
      const res = await vaultFetch(options, {
        method: "GET",
        path: "sys/health",
        query: { standbyok: "true" },
      });
      state = res.status === 200
        ? "ready"
        : res.status === 501
        ? "uninitialized"
        : res.status === 503
        ? "sealed"
        : "other";
    } catch {
      state = "unreachable";
    }
    if (state === "ready") return;
    if (state === "uninitialized" && options.initKeysFile) {
      await initialize(options, options.initKeysFile);
      report.initialized = true;
      continue;
    }
    if (state === "sealed") {
      const keys = await readInitKeys(options.initKeysFile);
      if (keys) {
        await unseal(options, keys.keys_base64);
        report.unsealed = true;
        continue;
      }
    }
    if (state !== lastState) log.info("vault_init.waiting", { state });
    lastState = state;
    if (Date.now() >= deadline) {
      throw new Error(
        state === "uninitialized"
          ? "vault is not initialized: initialize it, or set VAULT_INIT_KEYS_FILE"
          : `vault is not ready (${state}) after waiting`,
      );
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 1000));
  }
}

async function initialize(options: VaultInitOptions, file: string): Promise<void> {
  const body = initKeysSchema.parse(
    await vaultRequest(options, {
      method: "PUT",
      path: "sys/init",
      body: {
        secret_shares: options.initShares ?? 5,
        secret_threshold: options.initThreshold ?? 3,
      },
    }),
  );
  await Deno.writeTextFile(file, JSON.stringify(body, null, 2), { mode: 0o600, createNew: true });
  await Deno.chmod(file, 0o600);
  log.warn("vault_init.initialized", {
    note: "unseal keys and root token written to the init keys file: move them off this host",
  });
}

async function unseal(options: VaultInitOptions, keys: string[]): Promise<void> {
  const status = z.object({ sealed: z.boolean() });
  for (const key of keys) {
    const res = status.parse(
      await vaultRequest(options, { method: "PUT", path: "sys/unseal", body: { key } }),
    );
    if (!res.sealed) {
      log.info("vault_init.unsealed");
      return;
    }
  }
  throw new Error("vault is still sealed after using every stored key");
}

async function readInitKeys(file?: string): Promise<z.infer<typeof initKeysSchema> | null> {
  const text = file ? await readOptional(file) : null;
  return text ? initKeysSchema.parse(JSON.parse(text)) : null;
}

/** Reads a KV v2 secret: `absent` (never written), `deleted`, or its data and version. */
async function readKv(
  options: VaultInitOptions,
  token: string,
  path: string,
): Promise<
  { state: "absent" | "deleted" } | {
    state: "present";
    data: Record<string, unknown>;
    version: number;
  }
> {
  const res = await vaultFetch(options, { method: "GET", path, token });
  if (res.status === 404) {
    const deleted = kvSchema.safeParse(res.body);
    return { state: deleted.success ? "deleted" : "absent" };
  }
  if (res.status !== 200) throw vaultErrorOf(res, path);
  const body = kvSchema.parse(res.body);
  return { state: "present", data: body.data.data ?? {}, version: body.data.metadata.version };
}

async function seedApp(options: VaultInitOptions, token: string, path: string): Promise<string[]> {
  const current = await readKv(options, token, path);
  const existing = current.state === "present" ? current.data : {};
  const added = Object.entries(options.seed).filter(([k, v]) => v && existing[k] === undefined);
  if (!added.length) return [];
  const cas = current.state === "present"
    ? current.version
    : current.state === "absent"
    ? 0
    : undefined;
  await vaultRequest(options, {
    method: "POST",
    path,
    token,
    body: {
      options: cas === undefined ? {} : { cas },
      data: { ...existing, ...Object.fromEntries(added) },
    },
  });
  const names = added.map(([k]) => k);
  log.info("vault_init.app_secrets_added", { fields: names });
  return names;
}

async function seedKeyRing(
  options: VaultInitOptions,
  token: string,
  path: string,
): Promise<boolean> {
  const current = await readKv(options, token, path);
  if (current.state === "present") return false;
  if (current.state === "deleted") {
    throw new Error(
      `the key ring at ${path} is deleted: undelete it (data encrypted with it would be lost); ` +
        "a new key is never generated over an existing one",
    );
  }
  const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
  try {
    await vaultRequest(options, {
      method: "POST",
      path,
      token,
      body: { options: { cas: 0 }, data: { keys: { "1": key }, active: "1" } },
    });
  } catch (err) {
    // cas:0 lost a race with another writer: keep theirs.
    if (err instanceof VaultError && err.kind === "bad_request") return false;
    throw err;
  }
  log.info("vault_init.key_ring_created", { path });
  return true;
}

async function readOptional(file: string): Promise<string | null> {
  try {
    return (await Deno.readTextFile(file)).trim() || null;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Writes `<outputDir>/<name>` atomically with mode 0600, owned by the app when configured. */
async function writePrivate(options: VaultInitOptions, name: string, value: string): Promise<void> {
  const target = `${options.outputDir}/${name}`;
  const tmp = `${options.outputDir}/.${name}.${crypto.randomUUID()}.tmp`;
  await Deno.writeTextFile(tmp, `${value}\n`, { mode: 0o600, createNew: true });
  await Deno.chmod(tmp, 0o600); // the umask may have narrowed it; never widened
  if (options.appUid !== undefined) await Deno.chown(tmp, options.appUid, options.appGid ?? null);
  await Deno.rename(tmp, target);
}

const duration = z.string().regex(/^(\d+|(\d+[smhd])+)$/, "a Vault duration like 1h or 3600");

const envSchema = z.object({
  VAULT_ADDR: z.url({ protocol: /^https?$/ }),
  VAULT_TOKEN: z.string().min(1).optional(),
  VAULT_INIT_KEYS_FILE: z.string().min(1).optional(),
  VAULT_INIT_SHARES: z.coerce.number().int().min(1).max(10).default(5),
  VAULT_INIT_THRESHOLD: z.coerce.number().int().min(1).max(10).default(3),
  VAULT_WAIT_SECONDS: z.coerce.number().int().min(0).default(120),
  VAULT_KV_MOUNT: z.string().min(1).default("secret"),
  VAULT_KV_PATH: z.string().min(1).default("bitrix-app"),
  VAULT_APPROLE_MOUNT: z.string().min(1).default("approle"),
  VAULT_ROLE_NAME: z.string().regex(/^[\w.-]+$/).default("bitrix-app"),
  VAULT_POLICY_NAME: z.string().regex(/^[\w.-]+$/).default("bitrix-app"),
  VAULT_TOKEN_TTL: duration.default("1h"),
  VAULT_TOKEN_MAX_TTL: duration.default("24h"),
  VAULT_SECRET_ID_TTL: duration.default("0"),
  VAULT_APPROLE_DIR: z.string().min(1),
  APP_UID: z.coerce.number().int().min(0).optional(),
  APP_GID: z.coerce.number().int().min(0).optional(),
  BITRIX_CLIENT_ID: z.string().min(1).optional(),
  BITRIX_CLIENT_SECRET: z.string().min(1).optional(),
  DATABASE_URL: z.string().min(1).optional(),
});

/** Names whose value may instead come from the file named by `<NAME>_FILE` (Docker secrets). */
const FILE_VARIABLES = ["VAULT_TOKEN", "BITRIX_CLIENT_ID", "BITRIX_CLIENT_SECRET", "DATABASE_URL"];

/** Builds the options from environment variables (and `*_FILE` variants); throws naming each bad one. */
export async function vaultInitOptionsFromEnv(
  env: Record<string, string | undefined>,
): Promise<VaultInitOptions> {
  const values: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v) values[k] = v;
  for (const name of FILE_VARIABLES) {
    const file = values[`${name}_FILE`];
    const text = !values[name] && file ? (await Deno.readTextFile(file)).trim() : "";
    if (text) values[name] = text; // an empty secret file means "not set" (local apps)
  }
  const parsed = envSchema.safeParse(values);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`);
    throw new Error(`invalid environment: ${names.join("; ")}`);
  }
  const e = parsed.data;
  return {
    addr: e.VAULT_ADDR,
    token: e.VAULT_TOKEN,
    initKeysFile: e.VAULT_INIT_KEYS_FILE,
    initShares: e.VAULT_INIT_SHARES,
    initThreshold: e.VAULT_INIT_THRESHOLD,
    waitMs: e.VAULT_WAIT_SECONDS * 1000,
    kvMount: e.VAULT_KV_MOUNT,
    kvPath: e.VAULT_KV_PATH,
    approleMount: e.VAULT_APPROLE_MOUNT,
    roleName: e.VAULT_ROLE_NAME,
    policyName: e.VAULT_POLICY_NAME,
    tokenTtl: e.VAULT_TOKEN_TTL,
    tokenMaxTtl: e.VAULT_TOKEN_MAX_TTL,
    secretIdTtl: e.VAULT_SECRET_ID_TTL,
    outputDir: e.VAULT_APPROLE_DIR,
    appUid: e.APP_UID,
    appGid: e.APP_GID,
    seed: {
      bitrix_client_id: e.BITRIX_CLIENT_ID,
      bitrix_client_secret: e.BITRIX_CLIENT_SECRET,
      database_url: e.DATABASE_URL,
    },
  };
}

if (import.meta.main) {
  try {
    await runVaultInit(await vaultInitOptionsFromEnv(Deno.env.toObject()));
  } catch (err) {
    log.error("vault_init.failed", { reason: err instanceof Error ? err.message : String(err) });
    Deno.exit(1);
  }
}
