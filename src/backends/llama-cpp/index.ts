import type { BackendModule } from "../types.js";
import { checkLlamaCppSettings, llamaCppSettingsSchema } from "./settings.js";

/** The embedded llama.cpp engine (node-llama-cpp). */
export const llamaCppBackend: BackendModule = {
  kind: "llama-cpp",
  settingsSchema: llamaCppSettingsSchema,
  defaultEndpoints: ["createChatCompletion", "createCompletion", "createEmbedding"],
  usesProvider: false,
  checkSettings: checkLlamaCppSettings,
  create() {
    return {};
  },
};
