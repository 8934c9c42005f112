/** Every backend kind. A new backend is one module plus one line here. */
import type { BackendModule } from "./types.js";
import { llamaCppBackend } from "./llama-cpp/index.js";
import { huggingFaceTgiBackend, openAiCompatibleBackend } from "./openai-compatible/index.js";

const modules: readonly BackendModule[] = [llamaCppBackend, openAiCompatibleBackend, huggingFaceTgiBackend];

const byKind = new Map(modules.map((m) => [m.kind, m]));

export const backendKinds = () => modules.map((m) => m.kind);
export const upstreamKinds = () => modules.filter((m) => m.usesProvider).map((m) => m.kind);
/** The provider keys the upstream backends add to providers.yaml. */
export const providerProperties = () => Object.assign({}, ...modules.map((m) => m.providerProperties ?? {}));

export function backendModule(kind: string): BackendModule {
  const module = byKind.get(kind);
  if (!module) throw new Error(`unknown backend '${kind}'`);
  return module;
}
