/**
 * KV v2 under `<mount>/`: `data` (read a version, write with check-and-set, soft delete),
 * `delete`/`undelete`/`destroy` of versions, `metadata` (read, list keys, delete all) and
 * `config`; KV v1 paths get Vault's warning.
 *
 * @module
 */
import { allow } from "../access.ts";
import type { Ctx } from "../context.ts";
import { iso } from "../params.ts";
import { envelope, fail, noContent } from "../reply.ts";
import type { KvVersion, TokenEntry } from "../state.ts";

const KV_V1_PATH_WARNING =
  "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API " +
  "endpoints to use. If using the Vault CLI, use 'vault kv get' for this operation.";

/** `<mount>/<op>/<key>` (`rest` is the path after `<mount>/`). */
export function kvRoute(ctx: Ctx, token: TokenEntry, mountName: string, rest: string): Response {
  const { state } = ctx;
  const mount = state.kv.get(mountName)!;
  const [, op, key = ""] = /^([a-z]+)(?:\/(.*))?$/.exec(rest) ?? [];
  const entry = mount.entries.get(key);
  const now = state.clock.now();
  switch (`${ctx.method} ${op}`) {
    case "GET data": {
      allow(state, token, ctx.path, "read");
      const wanted = Number(ctx.url.searchParams.get("version") ?? 0) || entry?.current;
      const version = wanted === undefined ? undefined : entry?.versions.get(wanted);
      if (!entry || !version || wanted === undefined) fail(404);
      const metadata = versionMetadata(version, wanted);
      if (version.deleted !== null || version.destroyed) {
        return envelope({ data: { data: null, metadata } }, 404);
      }
      return envelope({ data: { data: structuredClone(version.data), metadata } });
    }
    case "POST data": {
      allow(state, token, ctx.path, entry ? "update" : "create");
      const data = ctx.body.data;
      if (!data || typeof data !== "object" || Array.isArray(data)) fail(400, "no data provided");
      const cas = (ctx.body.options as Record<string, unknown> | undefined)?.cas;
      if (cas !== undefined && Number(cas) !== (entry?.current ?? 0)) {
        fail(400, "check-and-set parameter did not match the current version");
      }
      const target = entry ?? { versions: new Map(), current: 0, created: now, updated: now };
      target.current += 1;
      target.updated = now;
      const version: KvVersion = {
        data: structuredClone(data as Record<string, unknown>),
        created: now,
        deleted: null,
        destroyed: false,
      };
      target.versions.set(target.current, version);
      mount.entries.set(key, target);
      return envelope({ data: versionMetadata(version, target.current) });
    }
    case "DELETE data": {
      allow(state, token, ctx.path, "delete");
      const latest = entry?.versions.get(entry.current);
      if (latest && latest.deleted === null) latest.deleted = now;
      return noContent();
    }
    case "POST delete":
    case "POST undelete":
    case "POST destroy": {
      allow(state, token, ctx.path, "update");
      const versions = Array.isArray(ctx.body.versions) ? ctx.body.versions.map(Number) : [];
      if (!versions.length) fail(400, "no version number provided");
      for (const n of versions) {
        const v = entry?.versions.get(n);
        if (!v) continue;
        if (op === "delete" && v.deleted === null) v.deleted = now;
        if (op === "undelete" && !v.destroyed) v.deleted = null;
        if (op === "destroy") {
          v.destroyed = true;
          v.data = {};
        }
      }
      return noContent();
    }
    case "GET metadata": {
      allow(state, token, ctx.path, "read");
      if (!entry) fail(404);
      const versions = Object.fromEntries(
        [...entry.versions].map(([n, v]) => [String(n), {
          created_time: iso(v.created),
          deletion_time: v.deleted === null ? "" : iso(v.deleted),
          destroyed: v.destroyed,
        }]),
      );
      return envelope({
        data: {
          cas_required: false,
          created_time: iso(entry.created),
          current_version: entry.current,
          custom_metadata: null,
          delete_version_after: "0s",
          max_versions: 0,
          oldest_version: Math.min(...entry.versions.keys()),
          updated_time: iso(entry.updated),
          versions,
        },
      });
    }
    case "LIST metadata": {
      allow(state, token, ctx.path, "list");
      const prefix = key && !key.endsWith("/") ? `${key}/` : key;
      const keys = new Set<string>();
      for (const k of mount.entries.keys()) {
        if (!k.startsWith(prefix)) continue;
        const tail = k.slice(prefix.length);
        const slash = tail.indexOf("/");
        keys.add(slash < 0 ? tail : tail.slice(0, slash + 1));
      }
      if (!keys.size) fail(404);
      return envelope({ data: { keys: [...keys].sort() } });
    }
    case "DELETE metadata":
      allow(state, token, ctx.path, "delete");
      mount.entries.delete(key);
      return noContent();
    case "GET config":
      allow(state, token, ctx.path, "read");
      return envelope({
        data: { cas_required: false, delete_version_after: "0s", max_versions: 0 },
      });
  }
  if (["data", "metadata", "delete", "undelete", "destroy", "config"].includes(op)) {
    fail(405, "unsupported operation");
  }
  return envelope({ warnings: [KV_V1_PATH_WARNING] }, 404);
}

function versionMetadata(v: KvVersion, version: number): Record<string, unknown> {
  return {
    created_time: iso(v.created),
    custom_metadata: null,
    deletion_time: v.deleted === null ? "" : iso(v.deleted),
    destroyed: v.destroyed,
    version,
  };
}
