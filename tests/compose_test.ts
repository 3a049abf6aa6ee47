/**
 * Static checks of the container deployment (no Docker engine here): docker-compose.yml parsed
 * as YAML, the Dockerfile and .dockerignore read as text, and the files they reference present.
 *
 * @module
 */
import { parseDocument } from "yaml";
import { assert, assertEquals } from "./support/assert.ts";
import { freePort } from "./support/ports.ts";
import { run } from "./support/process.ts";
import { noPostgres, startPostgres } from "./support/postgres.ts";
import { startVaultTestServer, type VaultTestServer } from "../dev/vault/mod.ts";
import { VaultSecrets } from "../lib/server/secrets/vault.ts";
import { log } from "../lib/server/log.ts";
import { waitUntilReady } from "./support/http.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFile(new URL(path, root));

interface Healthcheck {
  test?: string[] | string;
  disable?: boolean;
}

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: Healthcheck;
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  tmpfs?: string[] | string;
  ports?: unknown[];
  secrets?: (string | { source: string })[];
  networks?: string[] | Record<string, unknown>;
  restart?: string;
  user?: string;
  read_only?: boolean;
}

interface Compose {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string; environment?: string }>;
  networks?: Record<string, { internal?: boolean } | null>;
}

async function loadCompose(): Promise<Compose> {
  const doc = parseDocument(await read("docker-compose.yml"), { merge: true });
  assertEquals(doc.errors.map(String), [], "YAML errors");
  assertEquals(doc.warnings.map(String), [], "YAML warnings");
  return doc.toJS({ maxAliasCount: 100 }) as Compose;
}

const compose = await loadCompose();
const services = compose.services;
const isDev = (s: Service) => s.profiles?.includes("dev") ?? false;

function environmentOf(service: Service): [string, string | undefined][] {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return env.map((entry) => {
      const i = entry.indexOf("=");
      return i < 0 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
    });
  }
  return Object.entries(env).map(([k, v]) => [k, v === null ? undefined : String(v)]);
}

/** `name:/target[:ro]` → the source name and target of a volume entry. */
function mounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).map((v) => {
    if (typeof v !== "string") return { source: v.source ?? "", target: v.target ?? "" };
    const [source, target] = v.split(":");
    return { source, target };
  });
}

function hasHealthcheck(service: Service): boolean {
  const test = service.healthcheck?.test;
  if (!test || service.healthcheck?.disable) return false;
  return Array.isArray(test) ? test.length > 1 && test[0] !== "NONE" : test.length > 0;
}

Deno.test("[compose] the stack's services are all there", () => {
  for (const name of ["nginx", "app", "migrate", "postgres", "vault", "vault-init"]) {
    assert(services[name], `service ${name}`);
    assert(!isDev(services[name]), `${name} runs without a profile`);
  }
  for (const name of ["postgres-dev", "vault-dev", "vault-init-dev", "app-dev"]) {
    assert(services[name] && isDev(services[name]), `${name} only in the dev profile`);
  }
  assertEquals(services.postgres.image, "postgres:17");
  assert(services.vault.image?.startsWith("hashicorp/vault:"), "vault image");
  assertEquals(services.vault.command, "server", "vault in server mode by default");
  assert(
    (Array.isArray(services["vault-dev"].command)
      ? services["vault-dev"].command.join(" ")
      : services["vault-dev"].command ?? "").includes("server -dev"),
    "vault-dev in dev mode",
  );
});

Deno.test("[compose] ordering only by depends_on conditions, never by sleeps", () => {
  for (const [name, service] of Object.entries(services)) {
    const deps = service.depends_on ?? {};
    assert(!Array.isArray(deps), `${name}: depends_on must use conditions`);
    for (const [dep, { condition }] of Object.entries(deps)) {
      const target = services[dep];
      assert(target, `${name} depends on unknown ${dep}`);
      assert(isDev(service) || !isDev(target), `${name} depends on dev-only ${dep}`);
      if (condition === "service_healthy") {
        assert(hasHealthcheck(target), `${name} waits for ${dep} to be healthy: no healthcheck`);
      } else if (condition === "service_completed_successfully") {
        assertEquals(target.restart, "no", `${dep} is a one-shot`);
      } else {
        throw new Error(`${name} → ${dep}: condition ${condition} (healthy or completed only)`);
      }
    }
    const command = [service.command ?? []].flat().join(" ");
    assert(!/\bsleep\b/.test(command), `${name} sleeps`);
  }
  const conditionOf = (from: string, to: string) =>
    (services[from].depends_on as Record<string, { condition: string }>)[to]?.condition;
  assertEquals(conditionOf("app", "migrate"), "service_completed_successfully");
  assertEquals(conditionOf("app", "vault-init"), "service_completed_successfully");
  assertEquals(conditionOf("app", "postgres"), "service_healthy");
  assertEquals(conditionOf("migrate", "vault-init"), "service_completed_successfully");
  assertEquals(conditionOf("vault-init", "vault"), "service_healthy");
  assertEquals(conditionOf("nginx", "app"), "service_healthy");
});

Deno.test("[compose] health checks on postgres, vault, app and nginx", () => {
  for (const name of ["postgres", "vault", "app", "nginx", "postgres-dev", "vault-dev"]) {
    assert(hasHealthcheck(services[name]), `${name} has a healthcheck`);
  }
  assert(
    String(services.app.healthcheck?.test).includes("127.0.0.1:8000/healthz"),
    "app health is /healthz",
  );
});

Deno.test("[compose] data on named volumes; tmpfs only in the dev profile", async () => {
  const named = Object.keys(compose.volumes ?? {});
  const dataOf = (service: string, target: string) =>
    mounts(services[service]).find((m) => m.target === target)?.source;
  assert(named.includes(dataOf("postgres", "/var/lib/postgresql/data") ?? ""), "postgres data");
  const hcl = await read("deploy/vault/config.hcl");
  const raftPath = /storage\s+"raft"\s*\{[^}]*path\s*=\s*"([^"]+)"/.exec(hcl)?.[1];
  assert(raftPath, "raft storage in deploy/vault/config.hcl");
  assert(named.includes(dataOf("vault", raftPath) ?? ""), `vault data at ${raftPath}`);
  assertEquals(dataOf("vault", "/vault/config/config.hcl"), "./deploy/vault/config.hcl");
  for (const [name, service] of Object.entries(services)) {
    const tmpfs = [service.tmpfs ?? []].flat();
    const tmpfsVolumes = (service.volumes ?? []).filter((v) =>
      typeof v !== "string" && v.type === "tmpfs"
    );
    if (tmpfs.length || tmpfsVolumes.length) assert(isDev(service), `${name}: tmpfs outside dev`);
  }
  assertEquals(services["postgres-dev"].volumes, [], "postgres-dev keeps nothing");
});

Deno.test("[compose] no secret values in environment; bootstrap secrets are gitignored files", async () => {
  // Names with a secret word (SECRETS=vault is a choice, not a secret; VAULT_SECRET_ID_FILE is).
  const secretName = /(^|_)(PASSWORD|PASSWD|PASS|SECRET|TOKEN|KEY|APIKEY|PRIVATE)(_|$)/i;
  for (const [name, service] of Object.entries(services)) {
    for (const [key, value] of environmentOf(service)) {
      if (secretName.test(key)) {
        assert(key.endsWith("_FILE"), `${name}: ${key} must be a *_FILE`);
        assert(value?.startsWith("/run/"), `${name}: ${key} must name a mounted file`);
      }
      assert(!/:\/\/[^/\s:@]+:[^/\s@]+@/.test(value ?? ""), `${name}: ${key} holds credentials`);
      assert(
        !/^[A-Za-z0-9+=_-][A-Za-z0-9+/=_.-]{23,}$/.test(value ?? ""),
        `${name}: ${key} looks like a key`,
      );
    }
  }
  for (const [name, secret] of Object.entries(compose.secrets ?? {})) {
    assert(secret.file?.startsWith("./deploy/secrets/"), `secret ${name} is a file`);
    const path = secret.file!.slice(2);
    await Deno.stat(new URL(`${path}.example`, root));
    const ignored = await run("git", ["check-ignore", "--no-index", path], {
      cwd: root.pathname,
    }).catch(() => "");
    assertEquals(ignored.trim(), path, `${path} is gitignored`);
  }
  for (const name of ["vault_admin_token", "bitrix_client_id", "bitrix_client_secret"]) {
    assert(
      !(services.app.secrets ?? []).some((s) => (typeof s === "string" ? s : s.source) === name),
      `the app never sees ${name}: it reads Vault`,
    );
  }
});

Deno.test("[compose] app: Vault AppRole files read-only, behind nginx, no published ports", async () => {
  const env = Object.fromEntries(environmentOf(services.app));
  assertEquals(env.SECRETS, "vault");
  assertEquals(env.HOST, "0.0.0.0");
  assertEquals(env.TRUST_PROXY, "true");
  assertEquals(env.MIGRATE_ON_START, "false", "the migrate service migrates");
  const approle = mounts(services.app).find((m) => m.target === "/run/vault-approle");
  assert(
    approle && (services.app.volumes ?? []).includes(`${approle.source}:/run/vault-approle:ro`),
  );
  assert(env.VAULT_ROLE_ID_FILE?.startsWith("/run/vault-approle/"));
  assert(services.app.read_only, "read-only root filesystem");
  for (const name of ["app", "postgres", "vault", "vault-init", "migrate"]) {
    assertEquals(services[name].ports, undefined, `${name} publishes no port`);
  }
  assertEquals(compose.networks?.backend?.internal, true, "backend network is internal");
  const initCommand = [services["vault-init"].command ?? []].flat().join(" ");
  assert(initCommand.includes("deploy/vault_init.ts"), "vault-init runs deploy/vault_init.ts");
  await Deno.stat(new URL("deploy/vault_init.ts", root));
  const nginxConf = mounts(services.nginx).find((m) => m.target === "/etc/nginx/nginx.conf");
  assertEquals(nginxConf?.source, "./deploy/nginx.conf");
});

Deno.test("[compose] Dockerfile: pinned Deno, build-time install and bundles, non-root", async () => {
  const dockerfile = await read("Dockerfile");
  const from = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  assertEquals(from, ["denoland/deno:2.9.6"]);
  for (const step of ["deno install --frozen", "deno task build", "deno cache main.ts"]) {
    assert(dockerfile.includes(step), `Dockerfile runs ${step}`);
  }
  const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
  assert(users.length > 0 && !["root", "0"].includes(users.at(-1)!), "runs as a non-root user");
  const cmd = /^CMD\s+(\[.*\])$/m.exec(dockerfile)?.[1];
  const args = JSON.parse(cmd ?? "[]") as string[];
  assertEquals(args.slice(0, 2), ["deno", "run"]);
  assert(!args.some((a) => /^(-A|--allow-all|--allow-write)/.test(a)), "no write permission");
  assertEquals(args.at(-1), "main.ts");
  const startTask = JSON.parse(await read("deno.json")).tasks.start as string;
  const v8Flags = startTask.split(" ").filter((a) => a.startsWith("--v8-flags="));
  assertEquals(v8Flags.length, 1, "`deno task start` caps the V8 heap");
  assertEquals(args.filter((a) => a.startsWith("--v8-flags=")), v8Flags, "the image runs the same");

  const ignored = (await read(".dockerignore")).split("\n").map((l) => l.trim());
  for (const path of ["deploy/secrets", "deploy/certs", ".env", "node_modules", "data", ".git"]) {
    assert(ignored.includes(path), `.dockerignore keeps ${path} out of the image`);
  }
});

// ---- The services' commands, run as processes with the compose paths mapped to a temp dir ------

/** A temporary stand-in for the containers' filesystem: /run/secrets, the AppRole volume, /app. */
interface Sandbox extends AsyncDisposable {
  dir: string;
  /** Maps compose paths and `$$` escapes in `text` to this machine. */
  map(text: string): string;
}

async function sandbox(): Promise<Sandbox> {
  const dir = await Deno.makeTempDir({ prefix: "compose-" });
  await Deno.mkdir(`${dir}/secrets`);
  return {
    dir,
    map: (text) =>
      text.replaceAll("$$", "$")
        .replaceAll("/run/secrets", `${dir}/secrets`)
        .replaceAll("/run/vault-approle", `${dir}/approle`)
        .replace(/(?<=[=,])\/app(?=,|$|\s)/g, root.pathname.replace(/\/$/, "")),
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Compose interpolation: `${NAME:-default}` and `${NAME:?error}` from `values`. */
function interpolate(text: string, values: Record<string, string>): string {
  return text.replace(/\$\{(\w+)(?::([-?])([^}]*))?\}/g, (_, name, op, rest) => {
    if (values[name] !== undefined) return values[name];
    if (op === "-") return rest;
    throw new Error(`compose: ${name} is not set (${rest})`);
  });
}

/** The environment a service gets, mapped, plus `extra`. */
function serviceEnv(service: Service, box: Sandbox, extra: Record<string, string> = {}) {
  const env: Record<string, string> = { PATH: Deno.env.get("PATH") ?? "" };
  for (const [k, v] of environmentOf(service)) {
    env[k] = box.map(
      interpolate(v ?? "", {
        APP_BASE_URL: "https://phone.example.test",
        BITRIX_APP_CODE: "vendor.sipphone",
      }),
    );
  }
  return { ...env, ...extra };
}

/** Runs a service's command (or `command`) to completion; returns its code and output. */
async function runService(
  service: Service,
  box: Sandbox,
  env: Record<string, string>,
  command = [service.command ?? []].flat(),
) {
  const out = await new Deno.Command(command[0], {
    args: command.slice(1).map((a) => box.map(a)),
    cwd: root.pathname,
    clearEnv: true,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, text };
}

/** Runs vault-init against `vault` with the given bootstrap secrets. */
async function runVaultInit(
  vault: VaultTestServer,
  box: Sandbox,
  secrets: Record<string, string>,
) {
  const service = services["vault-init"];
  for (const s of service.secrets ?? []) {
    const name = typeof s === "string" ? s : s.source;
    const value = name === "vault_admin_token" ? vault.rootToken : secrets[name];
    await Deno.writeTextFile(`${box.dir}/secrets/${name}`, `${value}\n`, { mode: 0o600 });
  }
  const env = serviceEnv(service, box, { VAULT_ADDR: vault.addr });
  if (Deno.uid() !== 0) { // chown needs root (vault-init runs as root in compose)
    delete env.APP_UID;
    delete env.APP_GID;
  }
  return await runService(service, box, env);
}

const BOOTSTRAP = {
  bitrix_client_id: "app.compose.1",
  bitrix_client_secret: "compose-client-secret",
  postgres_password: "0123abcd",
};

Deno.test("[compose] the vault-init command seeds Vault; the app logs in with its files", async () => {
  log.setLevel("warn");
  await using box = await sandbox();
  const vault = startVaultTestServer({ kvMounts: [] }); // a fresh production server
  try {
    const init = await runVaultInit(vault, box, BOOTSTRAP);
    assertEquals(init.code, 0, init.text);
    assert(!/compose-client-secret|0123abcd/.test(init.text), "no secrets logged");
    const secretId = await Deno.stat(`${box.dir}/approle/secret_id`);
    assertEquals(secretId.mode! & 0o777, 0o600);
    if (Deno.uid() === 0) {
      const uid = Number(Object.fromEntries(environmentOf(services["vault-init"])).APP_UID);
      assertEquals(secretId.uid, uid, "owned by the app's user");
    }

    const env = serviceEnv(services.app, box);
    const provider = new VaultSecrets({
      addr: vault.addr,
      roleIdFile: env.VAULT_ROLE_ID_FILE,
      secretIdFile: env.VAULT_SECRET_ID_FILE,
      kvMount: env.VAULT_KV_MOUNT,
      kvPath: env.VAULT_KV_PATH,
    });
    try {
      assertEquals(await provider.appSecrets(), {
        bitrixClientId: "app.compose.1",
        bitrixClientSecret: "compose-client-secret",
        databaseUrl: "postgres://app:0123abcd@postgres:5432/app",
      });
      const ring = await provider.keyRing();
      assert(ring.active in ring.keys, "a key ring was created");
    } finally {
      await provider.close();
    }
  } finally {
    await vault.close();
  }
});

Deno.test({
  name: "[compose] vault-init → migrate → the Dockerfile's CMD: ready, healthcheck passes",
  ignore: noPostgres,
  async fn() {
    log.setLevel("warn");
    await using box = await sandbox();
    const vault = startVaultTestServer({ kvMounts: [] });
    const pg = await startPostgres();
    let app: Deno.ChildProcess | undefined;
    try {
      const init = await runVaultInit(vault, box, BOOTSTRAP);
      assertEquals(init.code, 0, init.text);
      // In compose the seeded URL names the `postgres` service; here, the test server.
      const appPath = "secret/data/bitrix-app/app";
      const current = await vault.admin("GET", appPath) as { data: { data: object } };
      await vault.admin("POST", appPath, { data: { ...current.data.data, database_url: pg.url } });

      const vaultAt = { VAULT_ADDR: vault.addr };
      const migrate = await runService(
        services.migrate,
        box,
        serviceEnv(services.migrate, box, vaultAt),
      );
      assertEquals(migrate.code, 0, migrate.text);

      const port = freePort();
      const env = serviceEnv(services.app, box, { ...vaultAt, PORT: String(port) });
      const dockerfile = await read("Dockerfile");
      const cmd = JSON.parse(/^CMD\s+(\[.*\])$/m.exec(dockerfile)![1]) as string[];
      app = new Deno.Command(cmd[0], {
        args: cmd.slice(1).map((a) => box.map(a)),
        cwd: root.pathname,
        clearEnv: true,
        env,
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const ready = await waitUntilReady(`http://127.0.0.1:${port}`, {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      assertEquals(ready.body.ready, true);

      const [, ...check] = services.app.healthcheck!.test as string[];
      const health = await runService(
        services.app,
        box,
        env,
        check.map((a) => a.replace(":8000/", `:${port}/`)),
      );
      assertEquals(health.code, 0, health.text);
    } finally {
      if (app) {
        app.kill("SIGTERM");
        const stderr = await new Response(app.stderr).text();
        const { code } = await app.status;
        assertEquals(code, 0, stderr);
      }
      await pg.close();
      await vault.close();
    }
  },
});
