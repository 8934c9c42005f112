/**
 * Every backend kind. A new backend is one module plus one line here; a new upstream protocol is a
 * dialect folder under upstream/dialects/ plus one `upstreamBackend(...)` line.
 */
import type { BackendModule, Provider } from "./types.js";
import { llamaCppBackend } from "./llama-cpp/index.js";
import { upstreamBackend } from "./upstream/index.js";
import { openAiCompatible } from "./upstream/dialects/openai-compatible/index.js";
import { huggingFaceTgi } from "./upstream/dialects/huggingface-tgi/index.js";
import { anthropic } from "./upstream/dialects/anthropic/index.js";

const modules: readonly BackendModule[] = [llamaCppBackend, upstreamBackend(openAiCompatible), upstreamBackend(huggingFaceTgi), upstreamBackend(anthropic)];

const byKind = new Map(modules.map((m) => [m.kind, m]));

export const backendKinds = () => modules.map((m) => m.kind);
export const upstreamKinds = () => modules.filter((m) => m.usesProvider).map((m) => m.kind);
/** The provider keys the upstream backends add to providers.yaml. */
export const providerProperties = () => Object.assign({}, ...modules.map((m) => m.providerProperties ?? {}));

/** Upstream kinds whose providers may leave out `endpoints` (their module has a default URL). */
export const kindsWithDefaultEndpoint = () => modules.filter((m) => m.defaultProviderEndpoint).map((m) => m.kind);

/** The endpoint a provider of this type gets when it lists none. */
export const defaultProviderEndpoint = (kind: string) => byKind.get(kind)?.defaultProviderEndpoint;

export function backendModule(kind: string): BackendModule {
  const module = byKind.get(kind);
  if (!module) throw new Error(`unknown backend '${kind}'`);
  return module;
}

/** The checks of a schema-valid providers.yaml entry that its backend kind adds (see BackendModule.checkProvider). */
export function checkProvider(provider: Provider, problem: (path: (string | number)[], message: string) => void): void {
  byKind.get(provider.type)?.checkProvider?.(provider, problem);
}
