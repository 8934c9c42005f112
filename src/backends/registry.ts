/** Every backend kind. A new backend is one module plus one line here. */
import type { BackendModule } from "./types.js";
import { llamaCppBackend } from "./llama-cpp/index.js";

const modules: readonly BackendModule[] = [llamaCppBackend];

const byKind = new Map(modules.map((m) => [m.kind, m]));

export const backendKinds = () => modules.map((m) => m.kind);
export const upstreamKinds = () => modules.filter((m) => m.usesProvider).map((m) => m.kind);

export function backendModule(kind: string): BackendModule {
  const module = byKind.get(kind);
  if (!module) throw new Error(`unknown backend '${kind}'`);
  return module;
}
