/**
 * Renders `deploy/nginx.conf.template` (placeholders `{{NAME}}`) into an nginx configuration.
 * `deploy/nginx.conf` is the rendering with {@link COMPOSE_VALUES}, the values of
 * docker-compose.yml; tests render it with loopback ports and temporary paths.
 *
 * Regenerate `deploy/nginx.conf` after editing the template:
 * `deno run --allow-read --allow-write deploy/nginx.ts`
 *
 * @module
 */

/** The values the template needs. */
export interface NginxValues {
  /** `listen` argument of the HTTP server (`80`, `127.0.0.1:8080`). */
  HTTP_LISTEN: string;
  /** `listen` argument of the HTTPS server (`443`, `127.0.0.1:8443`). */
  HTTPS_LISTEN: string;
  /** Appended to `$host` in the HTTP → HTTPS redirect: empty for 443, else `:<port>`. */
  HTTPS_PORT_SUFFIX: string;
  /** The app instance(s): `host:port` (a name may resolve to several addresses). */
  APP_UPSTREAM: string;
  /** Certificate chain and private key (PEM). */
  TLS_CERT: string;
  TLS_KEY: string;
  /** Webroot for ACME http-01 challenges (`/.well-known/acme-challenge/`). */
  ACME_ROOT: string;
  PID_FILE: string;
  ERROR_LOG: string;
  ACCESS_LOG: string;
  /** Parent of nginx's temporary directories. */
  TEMP_DIR: string;
}

/** The values of the compose deployment (official nginx image, certificates in a volume). */
export const COMPOSE_VALUES: NginxValues = {
  HTTP_LISTEN: "80",
  HTTPS_LISTEN: "443",
  HTTPS_PORT_SUFFIX: "",
  APP_UPSTREAM: "app:8000",
  TLS_CERT: "/etc/nginx/certs/tls.crt",
  TLS_KEY: "/etc/nginx/certs/tls.key",
  ACME_ROOT: "/var/www/acme",
  PID_FILE: "/var/run/nginx.pid",
  ERROR_LOG: "/var/log/nginx/error.log",
  ACCESS_LOG: "/var/log/nginx/access.log",
  TEMP_DIR: "/var/cache/nginx",
};

/** The template file next to this module. */
export const TEMPLATE_URL: URL = new URL("./nginx.conf.template", import.meta.url);

/** The compose rendering next to this module. */
export const COMPOSE_CONF_URL: URL = new URL("./nginx.conf", import.meta.url);

/**
 * Replaces every `{{NAME}}` of `template` with `values[NAME]`. Throws on a placeholder without
 * a value, and on a value that could break out of its directive (`;`, braces, newlines).
 */
export function renderNginxConf(template: string, values: NginxValues): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`nginx template: no value for {{${name}}}`);
    const value = values[name as keyof NginxValues];
    if (/[;{}\n\r]/.test(value)) throw new Error(`nginx template: unsafe value for ${name}`);
    return value;
  });
}

/** Reads the template and renders it with `values`. */
export async function renderNginxTemplate(values: NginxValues): Promise<string> {
  return renderNginxConf(await Deno.readTextFile(TEMPLATE_URL), values);
}

if (import.meta.main) {
  await Deno.writeTextFile(COMPOSE_CONF_URL, await renderNginxTemplate(COMPOSE_VALUES));
  console.log(`wrote ${COMPOSE_CONF_URL.pathname}`);
}
