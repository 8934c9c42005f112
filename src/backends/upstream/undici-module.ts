/**
 * undici, loaded when the first upstream provider is used rather than at start-up, and only the
 * parts the transport uses: its connection Pool (whose dispatch() the exchanges call) and its header
 * parser. `require("undici")` also loads fetch, WebSocket, the mock agents and the rest, which costs
 * about 9 MB of resident memory and 60 ms that a gateway never gets back (measured on Node 20). The
 * two modules are undici's own files, read by path because the package index loads everything; if
 * a release moves them, the whole package is loaded instead.
 */
import { createRequire } from "node:module";
import type { Pool as UndiciPool } from "undici";

interface Undici {
  Pool: typeof UndiciPool;
  util: { parseHeaders(raw: Buffer[]): Record<string, string | string[]> };
}

const requireCjs = createRequire(import.meta.url);
let loaded: Undici | undefined;

function load(): Undici {
  try {
    return { Pool: requireCjs("undici/lib/dispatcher/pool.js"), util: requireCjs("undici/lib/core/util.js") };
  } catch {
    return requireCjs("undici") as Undici;
  }
}

export const undici = (): Undici => (loaded ??= load());
