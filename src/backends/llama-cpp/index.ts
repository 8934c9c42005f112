import { endpointsServedBy } from "../../core/operations.js";
import type { BackendModule, ChatResponse, CompletionResponse, EmbeddingResponse } from "../types.js";
import { chatCompletions } from "./chat.js";
import { countPromptTokens } from "./chat-plan.js";
import { completions } from "./completion.js";
import { embeddings } from "./embeddings.js";
import { LlamaRuntime } from "./runtime.js";
import { checkLlamaCppSettings, llamaCppSettingsSchema, type LlamaCppSettings } from "./settings.js";

/** The embedded llama.cpp engine (node-llama-cpp). */
export const llamaCppBackend: BackendModule = {
  kind: "llama-cpp",
  settingsSchema: llamaCppSettingsSchema,
  defaultEndpoints: endpointsServedBy(["chat", "completion", "embeddings"]),
  usesProvider: false,
  checkSettings: checkLlamaCppSettings,
  create({ settings, log }) {
    const runtime = new LlamaRuntime(settings as unknown as LlamaCppSettings, log);
    return {
      chat: (req, ctx) => chatCompletions(runtime, req, ctx) as Promise<ChatResponse>,
      completion: (req, ctx) => completions(runtime, req, ctx) as Promise<CompletionResponse>,
      embeddings: (req, ctx) => embeddings(runtime, req, ctx) as Promise<EmbeddingResponse>,
      countTokens: (req) => countPromptTokens(req, runtime),
      warm: async () => void (await runtime.load()),
      loaded: () => runtime.isLoaded,
      unload: () => runtime.unloadIdle(),
      status: () => runtime.status(),
      release: () => runtime.unload(),
    };
  },
};
