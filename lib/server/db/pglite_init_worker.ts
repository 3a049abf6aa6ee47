/**
 * A worker that creates a PGlite data directory (`initdb`) and exits; see `initPgliteDir` in
 * client.ts. It gets `{ location, options }` and answers `{}` or `{ error }`.
 *
 * @module
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";

interface InitRequest {
  location: string;
  options: PGliteOptions;
}

const scope = self as unknown as {
  onmessage: (event: MessageEvent<InitRequest>) => void;
  postMessage(message: { error?: string }): void;
};

scope.onmessage = async ({ data }) => {
  try {
    const client = new PGlite(data.location, data.options);
    await client.waitReady;
    await client.close();
    scope.postMessage({});
  } catch (err) {
    scope.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
