import { define, page, type RouteHandler } from "../../lib/server/state.ts";

/**
 * The PAGE_BACKGROUND_WORKER placement: a hidden frame on every portal page. It must reach
 * `onload` fast (Bitrix24 removes slow workers), so the HTML is tiny and the phone, the frame
 * SDK and the call card bridge load after `onload`.
 */
const backgroundPage: RouteHandler<null> = () => page(null);

export const handler = define.handlers<null>({ GET: backgroundPage, POST: backgroundPage });

export default define.page<typeof handler>(function BackgroundPage() {
  return (
    <html>
      <head>
        <meta charset="utf-8" />
        <title>SIP phone</title>
        <script type="module" src="/static/build/background_boot.js" async></script>
      </head>
      <body></body>
    </html>
  );
});
