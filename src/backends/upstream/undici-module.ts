/** undici costs ~0.2 s to import: loaded when the first upstream provider is used, not at start-up. */
import { createRequire } from "node:module";

type Undici = typeof import("undici");

const requireCjs = createRequire(import.meta.url);
let loaded: Undici | undefined;

export const undici = (): Undici => (loaded ??= requireCjs("undici") as Undici);
