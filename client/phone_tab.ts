/**
 * Page entry of the phone: `connectPhone()` and the public types. Bundled alone to
 * static/build/phone_tab.js (an ES module; it finds sip_worker.js next to itself). Pages load
 * it after `onload` with a dynamic `import()`.
 *
 * @module
 */
export * from "../lib/browser/phone/client.ts";
