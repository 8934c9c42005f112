/**
 * A dependency loaded the first time it is used, not at start-up: the Redis client (53 ms to
 * import) and SQLite (18 ms) are needed only by servers that store a response or share limits,
 * and a start that imports them all is that much later to serve its first request.
 */
import { createRequire } from "node:module";

const requireHere = createRequire(import.meta.url);

export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(name) as T);
}
