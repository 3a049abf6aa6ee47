/**
 * Everything the Vault test server holds in memory: seal state, tokens, policies, AppRole
 * mounts and KV v2 mounts. The API modules read and change it; only `server.ts` creates it.
 *
 * @module
 */
import type { Clock } from "../../lib/server/secrets/vault.ts";
import { randomId } from "./params.ts";
import { DEFAULT_POLICY, parsePolicy, type Policy } from "./policy.ts";

/** The longest token lifetime when neither the role nor the mount sets one (32 days). */
export const SYSTEM_MAX_TTL = 768 * 3600;

/** A token as the server stores it. */
export interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  tokenPolicies: string[];
  issuedAt: number;
  /** null = never expires (root). */
  expiresAt: number | null;
  maxExpiresAt: number | null;
  ttlSec: number;
  renewable: boolean;
  path: string;
  meta: Record<string, string> | null;
  entityId: string;
  role?: { mount: string; name: string };
}

/** An AppRole role. */
export interface Role {
  name: string;
  roleId: string;
  bindSecretId: boolean;
  tokenTtl: number;
  tokenMaxTtl: number;
  tokenPolicies: string[];
  tokenNoDefaultPolicy: boolean;
  secretIdTtl: number;
  secretIdNumUses: number;
}

/** An AppRole secret id. */
export interface SecretIdEntry {
  role: string;
  accessor: string;
  createdAt: number;
  expiresAt: number | null;
  /** null = unlimited. */
  usesLeft: number | null;
  ttlSec: number;
  numUses: number;
}

/** An AppRole auth mount: its roles and secret ids. */
export interface AuthMount {
  accessor: string;
  description: string;
  roles: Map<string, Role>;
  secretIds: Map<string, SecretIdEntry>;
}

/** One version of a KV v2 secret. */
export interface KvVersion {
  data: Record<string, unknown>;
  created: number;
  deleted: number | null;
  destroyed: boolean;
}

/** A KV v2 secret: its versions and metadata times. */
export interface KvEntry {
  versions: Map<number, KvVersion>;
  current: number;
  created: number;
  updated: number;
}

/** A KV v2 mount. */
export interface KvMount {
  accessor: string;
  description: string;
  entries: Map<string, KvEntry>;
}

/** The server's state. */
export class VaultState {
  initialized = false;
  sealed = true;
  threshold = 1;
  unsealKeys: string[] = [];
  readonly unsealProgress = new Set<string>();
  rootToken = "";
  readonly clusterId = crypto.randomUUID();
  readonly tokens = new Map<string, TokenEntry>();
  readonly policies = new Map<string, Policy>();
  readonly auth = new Map<string, AuthMount>();
  readonly kv = new Map<string, KvMount>();

  constructor(
    /** Time source for token and secret-id lifetimes. */
    readonly clock: Clock,
    /** Answer bad tokens with `["permission denied"]` only, like servers before 1.17. */
    readonly legacyForbidden: boolean,
  ) {
    this.policies.set("default", { text: DEFAULT_POLICY, rules: parsePolicy(DEFAULT_POLICY) });
  }

  /** Initializes with `shares` unseal keys (hex) and a root token; returns the root token. */
  initialize(shares: number, threshold: number, rootToken?: string): string {
    this.initialized = true;
    this.threshold = threshold;
    this.unsealKeys = Array.from(
      { length: shares },
      () =>
        Array.from(
          crypto.getRandomValues(new Uint8Array(32)),
          (b) => b.toString(16).padStart(2, "0"),
        ).join(""),
    );
    this.rootToken = rootToken ?? `hvs.${randomId(18)}`;
    this.tokens.set(this.rootToken, {
      id: this.rootToken,
      accessor: randomId(18),
      policies: ["root"],
      tokenPolicies: ["root"],
      issuedAt: this.clock.now(),
      expiresAt: null,
      maxExpiresAt: null,
      ttlSec: 0,
      renewable: false,
      path: "auth/token/root",
      meta: null,
      entityId: "",
    });
    return this.rootToken;
  }

  /** Seals (like `sys/seal`): unseal progress is forgotten. */
  seal(): void {
    this.sealed = true;
    this.unsealProgress.clear();
  }

  /** Enables an AppRole auth mount at `auth/<name>`. */
  enableAppRole(name: string, description: string): void {
    this.auth.set(name, {
      accessor: `auth_approle_${randomId(4)}`,
      description,
      roles: new Map(),
      secretIds: new Map(),
    });
  }

  /** Mounts a KV v2 engine at `<name>`. */
  mountKv(name: string, description: string): void {
    this.kv.set(name, { accessor: `kv_${randomId(4)}`, description, entries: new Map() });
  }

  /** Stores a new service token with `fields`; it expires after `ttlSec`, at most `maxTtlSec`. */
  issueToken(
    fields: Omit<TokenEntry, "id" | "accessor" | "issuedAt" | "expiresAt" | "maxExpiresAt"> & {
      maxTtlSec: number;
    },
  ): TokenEntry {
    const now = this.clock.now();
    const { maxTtlSec, ...rest } = fields;
    const entry: TokenEntry = {
      ...rest,
      id: `hvs.${randomId(18)}`,
      accessor: randomId(18),
      issuedAt: now,
      expiresAt: now + fields.ttlSec * 1000,
      maxExpiresAt: now + maxTtlSec * 1000,
    };
    this.tokens.set(entry.id, entry);
    return entry;
  }
}
