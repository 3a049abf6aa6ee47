import type { Handler } from "hono";
import { renderToString } from "preact-render-to-string";
import { type AppEnv, define } from "../../lib/server/http.ts";

/**
 * The PAGE_BACKGROUND_WORKER placement: a hidden frame on every portal page. It must reach
 * `onload` fast (Bitrix24 removes slow workers), so the HTML is tiny and the phone, the frame
 * SDK and the call card bridge load after `onload`.
 */
const backgroundPage: Handler<AppEnv> = (c) => {
  c.header("Cache-Control", "no-store");
  return c.html(
    "<!DOCTYPE html>" + renderToString(
      <html>
        <head>
          <meta charset="utf-8" />
          <title>SIP phone</title>
          <script type="module" src="/static/build/background_boot.js" async></script>
        </head>
        <body></body>
      </html>,
    ),
  );
};

export const handler = define.handlers({ GET: backgroundPage, POST: backgroundPage });
