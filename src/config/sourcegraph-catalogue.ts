/**
 * The model catalogue in Sourcegraph's shape: what a Sourcegraph instance serves at
 * `/.api/modelconfig/supported-models.json` and Cody clients read to list models, pick defaults and
 * tune prompts (`clientSideConfig`). Only models Cody can use (chat or code completion) are listed.
 */
import type { Registration } from "./registration.js";
import { defaultRef, indexOf, SCHEMA_VERSION, type CatalogueInput } from "./catalogue.js";

/** Sourcegraph's capabilities, from ours: a chat model also edits code. */
const SOURCEGRAPH_CAPABILITIES: Record<string, readonly string[]> = {
  chat: ["chat", "edit"],
  code_completion: ["autocomplete"],
  vision: ["vision"],
  tools: ["tools"],
};
const ORDER = ["autocomplete", "chat", "edit", "tools", "vision"];

/** Cody's own budgets for a model whose window is unknown (CHAT_INPUT_TOKEN_BUDGET, CHAT_OUTPUT_TOKEN_BUDGET). */
const UNKNOWN_INPUT_TOKENS = 7000;
const UNKNOWN_OUTPUT_TOKENS = 4000;

/** Sourcegraph's statuses are experimental, beta, stable, deprecated (and waitlist). */
const STATUS: Record<Registration["status"], string> = { stable: "stable", beta: "beta", deprecated: "deprecated" };

function capabilitiesOf(group: readonly Registration[]): string[] {
  const found = new Set(group.flatMap((r) => r.capabilities.flatMap((c) => SOURCEGRAPH_CAPABILITIES[c] ?? [])));
  return ORDER.filter((c) => found.has(c));
}

/** One entry per model ref: a ref registered once per endpoint is one Sourcegraph model. */
function modelOf(ref: string, group: readonly Registration[]) {
  const reg = group.find((r) => r.capabilities.includes("chat")) ?? group[0];
  const clientSideConfig = group.find((r) => r.client_side_config)?.client_side_config;
  const output = reg.max_output_tokens ?? Math.min(UNKNOWN_OUTPUT_TOKENS, reg.context_window ?? UNKNOWN_OUTPUT_TOKENS);
  // Sourcegraph counts the prompt and the answer separately; ours is the model's whole window.
  const input = reg.context_window === undefined ? UNKNOWN_INPUT_TOKENS : Math.max(1, reg.context_window - output);
  return {
    modelRef: ref,
    displayName: reg.display_name,
    // The name sent upstream: what the model is called at its provider.
    modelName: reg.upstream_model ?? reg.model,
    capabilities: capabilitiesOf(group),
    category: reg.category,
    status: STATUS[reg.status],
    tier: "enterprise",
    contextWindow: { maxInputTokens: input, maxOutputTokens: output },
    ...(clientSideConfig ? { clientSideConfig: { openaicompatible: clientSideConfig } } : {}),
  };
}

/**
 * With `recommended` in defaults.yaml (like Sourcegraph's modelOverridesRecommendedSettings), only
 * those models and the defaults are offered to Cody; without it, every chat or code-completion model.
 */
export function sourcegraphCatalogue(config: CatalogueInput & { recommended?: readonly string[] }) {
  const index = indexOf(config);
  const defaultModels = {
    chat: defaultRef(index, config.defaultModels.chat),
    fastChat: defaultRef(index, config.defaultModels.fast_chat),
    codeCompletion: defaultRef(index, config.defaultModels.code_completion),
  };
  const offered = config.recommended?.length ? new Set([...config.recommended, ...Object.values(defaultModels)]) : undefined;
  const models = [...index.byRef]
    .filter(([ref]) => offered === undefined || offered.has(ref))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([ref, group]) => modelOf(ref, group))
    .filter((m) => m.capabilities.includes("chat") || m.capabilities.includes("code_completion"));
  const used = new Set(models.map((m) => m.modelRef.split("::")[0]));
  const providers = [
    { id: "understudy", displayName: "Understudy (embedded)" },
    ...config.providers.map((p) => ({ id: p.id, displayName: p.display_name ?? p.id })),
  ]
    .filter((p) => used.has(p.id))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  return {
    schemaVersion: SCHEMA_VERSION,
    revision: config.revision,
    providers,
    models,
    defaultModels,
  };
}
