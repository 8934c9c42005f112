/**
 * Upstream OpenAI-compatible servers (vLLM, llama-server, Ollama, OpenAI, another Understudy): the
 * provider's `profile` says which x-localai-extensions the server carries, `extra_fields` whether
 * undeclared top-level fields go through, `responses: native` that the Responses API is relayed.
 */
import type { Provider } from "../../../types.js";
import type { Dialect } from "../../dialect.js";
import { openAiCodec } from "./codec.js";
import { EXTRA_FIELDS, isProfileName, PROFILES, PROVIDER_PROFILES, type ExtraFields, type ProfileName } from "./profiles.js";
import { RESPONSES_MODES, RESPONSES_PATH } from "./responses-native.js";

/** The OpenAI operations' paths, relative to a URL that ends at the API root (e.g. `/v1`). */
export const OPENAI_PATHS = { chat: "/chat/completions", completion: "/completions", embeddings: "/embeddings" } as const;

/** Profiles default to plain OpenAI: standard fields only. */
const profileOf = (provider: Provider): ProfileName => (isProfileName(provider.profile) ? provider.profile : "openai");

/** The provider's `extra_fields`, else its profile's default. */
function extraFieldsOf(provider: Provider, profile: ProfileName): ExtraFields {
  return provider.extra_fields === "pass" || provider.extra_fields === "reject" ? provider.extra_fields : PROFILES[profile].extraFields;
}

export const openAiCompatible: Dialect = {
  kind: "openai-compatible",
  paths: OPENAI_PATHS,
  providerProperties: {
    profile: { enum: [...PROVIDER_PROFILES], description: "which x-localai-extensions the server carries (default openai)" },
    extra_fields: {
      enum: [...EXTRA_FIELDS],
      description:
        "top-level request fields the spec does not declare: pass sends them upstream unchanged, reject answers 400 (default: pass for the vllm, llamacpp-server and understudy profiles, reject otherwise)",
    },
    responses: {
      enum: [...RESPONSES_MODES],
      description:
        "how /v1/responses is served: native relays it to the upstream's own /responses (OpenAI, recent vLLM), chat translates it to a chat completion (default chat)",
    },
  },
  // Only a provider that says so is sent Responses requests: most OpenAI-compatible servers have no /responses.
  nativePathsOf: (provider) => (provider.responses === "native" ? { responses: RESPONSES_PATH } : {}),
  codec: (provider) => {
    const profile = profileOf(provider);
    return openAiCodec({ kind: "openai-compatible", providerId: provider.id, profile, extraFields: extraFieldsOf(provider, profile) });
  },
};
