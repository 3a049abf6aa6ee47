/**
 * deploy/nginx.conf for real: the template rendered with loopback ports and temporary paths,
 * checked with `nginx -t`, then a real nginx (a child process with its own prefix, temp dirs,
 * pid and error log) with a certificate from deploy/gen-cert.sh in front of the real app.
 *
 * @module
 */
import { assert, assertEquals, assertStringIncludes } from "./support/assert.ts";
import { startTestApp } from "./support/app.ts";
import { SseReader } from "./support/sse.ts";
import { findBinary, requireService } from "./support/services.ts";
import { freePort, waitForPort } from "./support/ports.ts";
import { run, stopProcess } from "./support/process.ts";
import { createApp } from "../app.ts";
import { peerAddress, resolveClient } from "../lib/server/proxy.ts";
import {
  COMPOSE_CONF_URL,
  COMPOSE_VALUES,
  type NginxValues,
  renderNginxTemplate,
} from "../deploy/nginx.ts";

const NGINX = findBinary(["/usr/sbin/nginx", "/usr/bin/nginx"]);
const OPENSSL = findBinary(["/usr/bin/openssl", "/usr/local/bin/openssl"]);
const noNginx = requireService(
  "nginx",
  NGINX !== undefined && OPENSSL !== undefined,
  "apt-get install nginx openssl",
);
const GEN_CERT = new URL("../deploy/gen-cert.sh", import.meta.url).pathname;

/** The address nginx connects to the app from (test only), the one the app trusts. */
const PROXY_SOURCE = "127.0.0.2";

Deno.test("[nginx] deploy/nginx.conf is the template rendered with the compose values", async () => {
  assertEquals(
    await Deno.readTextFile(COMPOSE_CONF_URL),
    await renderNginxTemplate(COMPOSE_VALUES),
    "run `deno run --allow-read --allow-write deploy/nginx.ts` after editing the template",
  );
});

/** A rendered configuration in a temporary prefix, with a fresh local CA and certificate. */
interface NginxSetup extends AsyncDisposable {
  dir: string;
  conf: string;
  caCert: string;
  values: NginxValues;
  httpPort: number;
  httpsPort: number;
}

async function setUpNginx(appPort: number, extraHttp = ""): Promise<NginxSetup> {
  const dir = await Deno.makeTempDir({ prefix: "nginx-test-" });
  await Deno.chmod(dir, 0o755); // workers run as `nobody` when the test runs as root
  await Deno.mkdir(`${dir}/acme`);
  await run("sh", [GEN_CERT, "-d", `${dir}/certs`, "localhost", "127.0.0.1"]);
  const httpPort = freePort();
  const httpsPort = freePort();
  const values: NginxValues = {
    HTTP_LISTEN: `127.0.0.1:${httpPort}`,
    HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
    HTTPS_PORT_SUFFIX: `:${httpsPort}`,
    APP_UPSTREAM: `127.0.0.1:${appPort}`,
    TLS_CERT: `${dir}/certs/tls.crt`,
    TLS_KEY: `${dir}/certs/tls.key`,
    ACME_ROOT: `${dir}/acme`,
    PID_FILE: `${dir}/nginx.pid`,
    ERROR_LOG: `${dir}/error.log`,
    ACCESS_LOG: `${dir}/access.log`,
    TEMP_DIR: dir,
  };
  const rendered = (await renderNginxTemplate(values)).replace(
    /^http \{$/m,
    `http {\n${extraHttp}`,
  );
  const conf = `${dir}/nginx.conf`;
  await Deno.writeTextFile(conf, rendered);
  return {
    dir,
    conf,
    caCert: await Deno.readTextFile(`${dir}/certs/ca.crt`),
    values,
    httpPort,
    httpsPort,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }).catch(() => {}),
  };
}

function nginxArgs(setup: NginxSetup, ...more: string[]): string[] {
  return ["-p", `${setup.dir}/`, "-c", setup.conf, "-e", `${setup.dir}/error.log`, ...more];
}

/** Starts nginx in the foreground as a child process; resolves once it accepts connections. */
async function startNginx(setup: NginxSetup): Promise<AsyncDisposable> {
  const child = new Deno.Command(NGINX!, {
    args: nginxArgs(setup, "-g", "daemon off;"),
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const errorLog = () => Deno.readTextFile(`${setup.dir}/error.log`).catch(() => "");
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const stop = async () => void await stopProcess(child, status);
  try {
    await waitForPort("nginx", setup.httpPort, { exited: () => exited });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${await errorLog()}`);
  }
  return { [Symbol.asyncDispose]: stop };
}

Deno.test({
  name: "[nginx] the configuration passes `nginx -t`",
  ignore: noNginx,
  async fn() {
    await using setup = await setUpNginx(freePort());
    const out = await new Deno.Command(NGINX!, {
      args: nginxArgs(setup, "-t"),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertStringIncludes(text, "test is successful");
  },
});

Deno.test({
  name: "[nginx] TLS, redirect, placement POST, forwarded headers, body limit, upstream down",
  ignore: noNginx,
  async fn() {
    await using app = await startTestApp({ TRUST_PROXY: "true" });
    // The real app, plus one probe URL that shows what lib/server/proxy.ts makes of the request, on a
    // listener that trusts only the address nginx connects from.
    const handler = createApp(app.services).fetch;
    const upstream = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req, info) => {
        if (new URL(req.url).pathname !== "/__client") return handler(req, info);
        return Response.json(resolveClient(req, peerAddress(info), {
          trustProxy: app.services.config.TRUST_PROXY,
          trustedProxies: [PROXY_SOURCE],
        }));
      },
    );
    await using setup = await setUpNginx(upstream.addr.port, `    proxy_bind ${PROXY_SOURCE};\n`);
    await using _nginx = await startNginx(setup);
    using client = Deno.createHttpClient({ caCerts: [setup.caCert] });
    const https = `https://127.0.0.1:${setup.httpsPort}`;

    // HTTP → HTTPS, path and query kept.
    const redirect = await fetch(`http://127.0.0.1:${setup.httpPort}/x?DOMAIN=a.example`, {
      redirect: "manual",
    });
    await redirect.body?.cancel();
    assertEquals(redirect.status, 301);
    assertEquals(redirect.headers.get("location"), `${https}/x?DOMAIN=a.example`);
    // …except Docker's health probe and ACME http-01 challenges.
    const probe = await fetch(`http://127.0.0.1:${setup.httpPort}/nginx-health`);
    assertEquals([probe.status, await probe.text()], [200, "ok\n"]);
    await Deno.mkdir(`${setup.values.ACME_ROOT}/.well-known/acme-challenge`, { recursive: true });
    await Deno.writeTextFile(
      `${setup.values.ACME_ROOT}/.well-known/acme-challenge/t0k3n`,
      "t0k3n.x",
    );
    const acme = await fetch(`http://127.0.0.1:${setup.httpPort}/.well-known/acme-challenge/t0k3n`);
    assertEquals([acme.status, await acme.text()], [200, "t0k3n.x"]);

    // Bitrix24 loads the app page with a POST form: through the proxy it is the page the app
    // itself answers (whatever the app decides about this unknown portal), byte for byte.
    const placement = (base: string, form: Record<string, string>) =>
      fetch(`${base}/?DOMAIN=x&LANG=ru`, {
        client,
        method: "POST",
        body: new URLSearchParams(form),
      });
    const bitrixForm = {
      AUTH_ID: "a1",
      AUTH_EXPIRES: "3600",
      member_id: "m1",
      PLACEMENT: "DEFAULT",
    };
    const viaProxy = await placement(https, bitrixForm);
    const direct = await placement(`http://127.0.0.1:${upstream.addr.port}`, bitrixForm);
    const proxiedHtml = await viaProxy.text();
    assertEquals([viaProxy.status, proxiedHtml], [direct.status, await direct.text()]);
    assertStringIncludes(proxiedHtml, '<html lang="ru"');
    const page = await placement(https, { PLACEMENT: "DEFAULT", PLACEMENT_OPTIONS: "{}" });
    const html = await page.text();
    assertEquals(page.status, 200, html);
    assertStringIncludes(page.headers.get("content-type") ?? "", "text/html");
    assertStringIncludes(html, '<html lang="ru"');
    assert(html !== proxiedHtml, "the form fields reached the app: they changed its answer");
    // Security headers are the app's, untouched; nginx does not name its version.
    assertStringIncludes(page.headers.get("content-security-policy") ?? "", "frame-ancestors");
    assert(page.headers.get("strict-transport-security"), "HSTS from the app");
    assertEquals(page.headers.get("x-frame-options"), null);
    assertEquals(page.headers.get("server"), "nginx");
    assert(page.headers.get("x-request-id"), "answered by the app");

    // Forwarded headers: nginx overrides what the client claims, and the app believes nginx.
    const spoof = {
      "x-forwarded-for": "6.6.6.6",
      "x-forwarded-proto": "http",
      "x-forwarded-host": "evil.example",
    };
    const proxied = await fetch(`${https}/__client`, { client, headers: spoof });
    assertEquals(await proxied.json(), {
      ip: "127.0.0.1",
      proto: "https",
      host: "127.0.0.1",
      viaProxy: true,
    });
    // …and does not believe the same headers from anyone else.
    const bypass = await fetch(`http://127.0.0.1:${upstream.addr.port}/__client`, {
      headers: spoof,
    });
    assertEquals(await bypass.json(), {
      ip: "127.0.0.1",
      proto: "http",
      host: `127.0.0.1:${upstream.addr.port}`,
      viaProxy: false,
    });

    // Metrics stay internal.
    const metrics = await fetch(`${https}/metrics`, { client });
    assertEquals([metrics.status, (await metrics.json()).error.code], [404, "not_found"]);

    // nginx refuses a body over the limit before the app sees it.
    const tooLarge = await fetch(`${https}/?DOMAIN=x`, {
      client,
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `AUTH_ID=${"x".repeat(300 * 1024)}`,
    });
    assertEquals(tooLarge.status, 413);
    assertEquals(tooLarge.headers.get("x-request-id"), null, "answered by nginx, not the app");
    assertEquals((await tooLarge.json()).error.code, "payload_too_large");

    // With every instance down, clients get a JSON 503, not nginx's HTML page.
    await upstream.shutdown();
    const down = await fetch(`${https}/healthz`, { client });
    assertEquals(down.status, 503);
    assertEquals((await down.json()).error.code, "unavailable");

    const accessLog = await Deno.readTextFile(`${setup.dir}/access.log`);
    assert(!accessLog.includes("DOMAIN="), "no query strings in the access log");
  },
});

Deno.test({
  name: "[nginx] push streams pass every event and heartbeat at once; no ticket in the access log",
  ignore: noNginx,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using app = await startTestApp({ TRUST_PROXY: "true" }, { push: { heartbeatMs: 500 } });
    const { portal } = await app.services.portals.upsertInstall({
      memberId: "m-nginx",
      domain: "acme.bitrix24.ru",
      clientEndpoint: "https://acme.bitrix24.ru/rest/",
      tokens: { accessToken: "a", refreshToken: "r", expiresAt: new Date(Date.now() + 3600_000) },
      installedByUserId: 1,
    });
    const port = Number(new URL(app.url).port);
    await using setup = await setUpNginx(port);
    await using _nginx = await startNginx(setup);
    using client = Deno.createHttpClient({ caCerts: [setup.caCert] });
    const ticket = await app.services.push.issueTicket(portal.id, 7);
    const res = await fetch(
      `https://127.0.0.1:${setup.httpsPort}/api/push/stream?ticket=${ticket}`,
      {
        client,
      },
    );
    assertEquals(res.status, 200);
    assertEquals(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
    const reader = new SseReader(res.body!);
    assertEquals(await reader.next(), { kind: "retry", ms: 3000 });
    // One small event, not a buffer's worth: it arrives at once through the proxy.
    const started = performance.now();
    await app.services.push.publish(portal.id, 7, "note", { n: 1 });
    const event = await reader.nextEvent(2000);
    assertEquals(JSON.parse(event.data), { type: "note", data: { n: 1 } });
    assert(performance.now() - started < 1000, "not held in a proxy buffer");
    // Heartbeats pass too (they keep nginx's read timeout and idle clients' proxies open).
    let beat = await reader.next(2000);
    while (beat.kind !== "comment" || beat.text !== "hb") beat = await reader.next(2000);
    await reader.cancel();
    // The ticket's query string is not in the access log.
    await new Promise((r) => setTimeout(r, 200));
    const accessLog = await Deno.readTextFile(`${setup.dir}/access.log`);
    assertStringIncludes(accessLog, "GET /api/push/stream ");
    assert(!accessLog.includes(ticket), "no ticket in the access log");
  },
});
