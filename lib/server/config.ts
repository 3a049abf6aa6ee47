/**
 * Configuration: every setting read from the environment (and `.env`) once at start and parsed
 * with zod. A bad value stops startup with one line naming the variable and what it expects.
 *
 * @module
 */
import { z } from "zod";

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const csv = z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean));

/** The regional zones of Bitrix24's cloud (`<portal>.bitrix24.<zone>`). */
const BITRIX24_CLOUD_ZONES = [
  "ru",
  "com",
  "de",
  "eu",
  "by",
  "kz",
  "ua",
  "es",
  "fr",
  "it",
  "pl",
  "uk",
  "com.br",
  "in",
  "id",
];

/** The environment variables the app understands, with defaults. README's table mirrors this. */
export const envSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  APP_BASE_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8000"),
  DATABASE_URL: z.string().regex(
    /^(postgres(ql)?:\/\/.+|pglite:.+)$/,
    "postgres://… or pglite:<dir> or pglite:memory",
  ).optional(),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(100).default(10),
  SECRETS: z.enum(["local", "vault"]).default("local"),
  LOCAL_KEY_FILE: z.string().min(1).default("./data/master.key"),
  ENCRYPTION_KEY: z.string().regex(/^[A-Za-z0-9+/]{43}=$/, "32 bytes, base64").optional(),
  VAULT_ADDR: z.url({ protocol: /^https?$/ }).optional(),
  VAULT_ROLE_ID: z.string().min(1).optional(),
  VAULT_SECRET_ID: z.string().min(1).optional(),
  VAULT_ROLE_ID_FILE: z.string().min(1).optional(),
  VAULT_SECRET_ID_FILE: z.string().min(1).optional(),
  VAULT_KV_MOUNT: z.string().min(1).default("secret"),
  VAULT_KV_PATH: z.string().min(1).default("bitrix-app"),
  VAULT_APPROLE_MOUNT: z.string().min(1).default("approle"),
  BITRIX_CLIENT_ID: z.string().min(1).optional(),
  BITRIX_CLIENT_SECRET: z.string().min(1).optional(),
  /** A Market app's symbolic code as app.info reports it (`vendor.sipphone`). */
  BITRIX_APP_CODE: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/, "letters, digits, . _ -")
    .optional(),
  BITRIX_OAUTH_URL: z.url({ protocol: /^https?$/ }).optional(),
  BITRIX_ALLOWED_OAUTH_HOSTS: csv.default(["oauth.bitrix.info", "oauth.bitrix24.tech"]),
  /** Development and tests only: portals on loopback addresses (and over http) are accepted. */
  BITRIX_ALLOW_INSECURE_PORTALS: bool.default(false),
  /**
   * Hosts a new portal may be installed from when the OAuth server cannot vouch for it (a local
   * app before its credentials are saved): Bitrix24's cloud domains by default; add on-premise
   * portals (`crm.example.com`, `*.example.com`).
   */
  BITRIX_PORTAL_HOSTS: csv.pipe(z.array(
    z.string().regex(
      /^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(:\d{1,5})?$/i,
      "host names or *.domain patterns",
    ),
  )).default(BITRIX24_CLOUD_ZONES.map((zone) => `*.bitrix24.${zone}`)),
  /** Who may frame the app: Bitrix24's cloud domains by default; add on-premise portals. */
  FRAME_ANCESTORS: csv.default(BITRIX24_CLOUD_ZONES.map((zone) => `https://*.bitrix24.${zone}`)),
  TRUST_PROXY: bool.default(false),
  TRUSTED_PROXIES: csv.optional(),
  MIGRATE_ON_START: bool.default(true),
  METRICS_TOKEN: z.string().min(16).optional(),
  /** The operator's TURN server, handed to every phone with short-lived credentials. */
  TURN_URLS: z.string().transform((v) => v.split(",").map((s) => s.trim()).filter(Boolean))
    .pipe(
      z.array(z.string().regex(/^turns?:\S{1,250}$/, "turn:host:port or turns:host:port"))
        .max(5),
    ).optional(),
  /** The TURN server's shared secret (coturn `static-auth-secret` with `use-auth-secret`). */
  TURN_SHARED_SECRET: z.string().min(16).optional(),
  TURN_CREDENTIAL_TTL_SECONDS: z.coerce.number().int().min(600).max(7 * 86400).default(86400),
  /** How long a user's admin flag and activity are trusted before the portal is asked again. */
  FRAME_RECHECK_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  /**
   * Portals whose Bitrix24 REST client (about 23 KB each) is kept in memory, most recently used
   * first; others build theirs again on their next call.
   */
  PORTAL_CLIENT_CACHE_SIZE: z.coerce.number().int().min(10).max(100_000).default(1000),
  /**
   * Portals the call sync of one instance serves at once (each one request at a time, within
   * its share of Bitrix24's rate limit).
   */
  SYNC_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(32),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
}).superRefine((env, ctx) => {
  // A Market app's app.info CODE is its symbolic code, never its client id: without the code
  // no installation could be recognised as ours.
  if ((env.BITRIX_CLIENT_ID || env.BITRIX_CLIENT_SECRET) && !env.BITRIX_APP_CODE) {
    ctx.addIssue({
      code: "custom",
      path: ["BITRIX_APP_CODE"],
      message: "required for a Market app (BITRIX_CLIENT_ID is set): its symbolic code, " +
        "e.g. vendor.sipphone",
    });
  }
  if (env.BITRIX_APP_CODE && env.BITRIX_APP_CODE === env.BITRIX_CLIENT_ID) {
    ctx.addIssue({
      code: "custom",
      path: ["BITRIX_APP_CODE"],
      message: "the Market app's symbolic code, not its client id",
    });
  }
  if (Boolean(env.TURN_URLS?.length) !== Boolean(env.TURN_SHARED_SECRET)) {
    ctx.addIssue({
      code: "custom",
      path: [env.TURN_URLS?.length ? "TURN_SHARED_SECRET" : "TURN_URLS"],
      message: "TURN_URLS and TURN_SHARED_SECRET go together",
    });
  }
  if (env.SECRETS !== "vault") return;
  if (!env.VAULT_ADDR) {
    ctx.addIssue({ code: "custom", path: ["VAULT_ADDR"], message: "required when SECRETS=vault" });
  }
  if (!env.VAULT_ROLE_ID && !env.VAULT_ROLE_ID_FILE) {
    ctx.addIssue({
      code: "custom",
      path: ["VAULT_ROLE_ID_FILE"],
      message: "VAULT_ROLE_ID_FILE or VAULT_ROLE_ID is required when SECRETS=vault",
    });
  }
  if (!env.VAULT_SECRET_ID && !env.VAULT_SECRET_ID_FILE) {
    ctx.addIssue({
      code: "custom",
      path: ["VAULT_SECRET_ID_FILE"],
      message: "VAULT_SECRET_ID_FILE or VAULT_SECRET_ID is required when SECRETS=vault",
    });
  }
});

/** The parsed configuration. */
export type Config = z.output<typeof envSchema>;

/** Raised when the environment does not parse; the message is one line per bad variable. */
export class ConfigError extends Error {}

/** Parses `env` (an object of strings); throws `ConfigError` naming each bad variable. */
export function parseConfig(env: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([k, v]) => v !== undefined && v !== "" && k in envSchema.shape),
  );
  const result = envSchema.safeParse(present);
  if (result.success) return result.data;
  const lines = result.error.issues.map((issue) => {
    const name = String(issue.path[0] ?? "config");
    return `${name}: ${issue.message}${name in present ? "" : " (not set)"}`;
  });
  throw new ConfigError(`invalid configuration: ${lines.join("; ")}`);
}

/** Parses a dotenv file's text: `KEY=value`, `#` comments, optional single or double quotes. */
export function parseDotenv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    const quoted = /^(["'])(.*)\1$/.exec(value);
    value = quoted ? quoted[2] : value.replace(/\s+#.*$/, "");
    out[m[1]] = value;
  }
  return out;
}

/** Reads the process environment over `.env` (the environment wins) and parses it once. */
export async function loadConfig(dotenvPath = ".env"): Promise<Config> {
  let fileEnv: Record<string, string> = {};
  try {
    fileEnv = parseDotenv(await Deno.readTextFile(dotenvPath));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotCapable)) throw err;
  }
  return parseConfig({ ...fileEnv, ...Deno.env.toObject() });
}
