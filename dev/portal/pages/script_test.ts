import assert from "node:assert/strict";
import { pageScript } from "./script.ts";

Deno.test("[portal pages] the page script bundles once into one module safe to inline", async () => {
  const first = pageScript();
  assert.equal(pageScript(), first);
  const script = await first;
  assert.match(script, /b24portal/);
  assert.doesNotMatch(script, /^\s*import\s/m);
  assert.doesNotMatch(script, /<\/script|<!--/i);
});
