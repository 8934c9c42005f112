/**
 * Upstream OpenAI-compatible servers (vLLM, llama-server, Ollama, OpenAI, another Understudy) and
 * Hugging Face TGI, which is the same client with the TGI profile and chat only (TGI's /v1 serves
 * the Messages API).
 */
import type { BackendInstance, BackendModule, CreateContext } from "../types.js";
import { acquireEndpointSet } from "./endpoint-set.js";
import { EXTRA_FIELDS_PROPERTY, resolveOptions, UPSTREAM_PROVIDER_PROPERTIES } from "./options.js";
import { PROVIDER_PROFILES } from "./profiles.js";
import { checkUpstreamSettings, upstreamSettingsSchema } from "./settings.js";
import { UpstreamClient } from "./upstream-client.js";

function createUpstream(kind: string, ctx: CreateContext, chatOnly: boolean): BackendInstance {
  const provider = ctx.provider;
  // checkSettings guarantees this at load time; reaching here without one is a programming error.
  if (!provider) throw new Error(`the ${kind} backend was created without a provider`);
  const options = resolveOptions(provider, kind);
  const { set, release } = acquireEndpointSet(provider, options);
  const client = new UpstreamClient({ kind, provider, options, upstreamModel: String(ctx.settings.upstream_model), endpoints: set, log: ctx.log });
  const instance: BackendInstance = {
    passesExtraFields: options.extraFields === "pass",
    // The upstream's JSON is passed on as OpenAI's shape: typed loosely here, checked by tests.
    chat: (req, call) => client.generate("/chat/completions", req, call) as Promise<never>,
    release,
  };
  if (!chatOnly) {
    instance.completion = (req, call) => client.generate("/completions", req, call) as Promise<never>;
    instance.embeddings = (req, call) => client.json("/embeddings", req, call) as Promise<never>;
  }
  return instance;
}

export const openAiCompatibleBackend: BackendModule = {
  kind: "openai-compatible",
  settingsSchema: upstreamSettingsSchema(true),
  defaultEndpoints: ["createChatCompletion", "createCompletion", "createEmbedding"],
  usesProvider: true,
  providerProperties: {
    ...UPSTREAM_PROVIDER_PROPERTIES,
    profile: { enum: [...PROVIDER_PROFILES], description: "which x-localai-extensions the server carries (default openai)" },
    extra_fields: EXTRA_FIELDS_PROPERTY,
  },
  checkSettings: checkUpstreamSettings("openai-compatible"),
  create: (ctx) => createUpstream("openai-compatible", ctx, false),
};

export const huggingFaceTgiBackend: BackendModule = {
  kind: "huggingface-tgi",
  settingsSchema: upstreamSettingsSchema(false),
  defaultEndpoints: ["createChatCompletion"],
  usesProvider: true,
  providerProperties: UPSTREAM_PROVIDER_PROPERTIES,
  // TGI serves one model and ignores `model`; "tgi" is what its own docs send.
  checkSettings: checkUpstreamSettings("huggingface-tgi", "tgi"),
  create: (ctx) => createUpstream("huggingface-tgi", ctx, true),
};
