/**
 * Anthropic's Messages API (`type: anthropic`): OpenAI chat requests are translated to it and its
 * answers back; the native methods (BackendInstance.messages, countMessageTokens) relay the
 * Messages API as it is, for the /v1/messages surface. Providers may leave out `endpoints`: the
 * default is Anthropic's public API, with the key from ANTHROPIC_API_KEY.
 */
import type { Provider } from "../../../types.js";
import type { Dialect } from "../../dialect.js";
import { anthropicCodec } from "./codec.js";
import { DEFAULT_MAX_TOKENS } from "./request-chat.js";

/** The `anthropic-version` header when the provider sets no `anthropic_version`. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

/** Paths relative to the API base (`https://api.anthropic.com`, no `/v1`: the base the Anthropic SDKs take). */
const MESSAGES_PATH = "/v1/messages";
const COUNT_TOKENS_PATH = "/v1/messages/count_tokens";

/** URL paths that are an endpoint rather than the API base: the operation paths are appended to the base. */
const NOT_A_BASE = /\/v1(\/(complete|messages(\/count_tokens)?))?\/*$/;

function checkUrl(url: URL): string | undefined {
  const path = url.pathname;
  if (!NOT_A_BASE.test(path)) return undefined;
  const base = url.origin + path.replace(NOT_A_BASE, "");
  if (/\/v1\/complete\/*$/.test(path)) {
    return `'${path}' is Anthropic's legacy text-completions endpoint, which the anthropic backend does not use: configure the API base URL (e.g. ${base}); the backend calls ${MESSAGES_PATH} under it`;
  }
  return `'${path}' is not an API base: configure the base URL without it (e.g. ${base}); the backend appends ${MESSAGES_PATH}`;
}

function positiveInteger(v: unknown): number | undefined {
  return typeof v === "number" && Number.isInteger(v) && v > 0 ? v : undefined;
}

export const anthropic: Dialect = {
  kind: "anthropic",
  paths: { chat: MESSAGES_PATH },
  nativePaths: { messages: MESSAGES_PATH, countMessageTokens: COUNT_TOKENS_PATH },
  defaultEndpoint: { url: "https://api.anthropic.com", api_key_env: "ANTHROPIC_API_KEY" },
  providerProperties: {
    anthropic_version: {
      type: "string",
      pattern: "^\\d{4}-\\d{2}-\\d{2}$",
      description: `the anthropic-version header sent with every request (anthropic providers; default ${DEFAULT_ANTHROPIC_VERSION})`,
    },
  },
  settingsProperties: {
    max_output_tokens: {
      type: "integer",
      minimum: 1,
      description: `max_tokens sent to Anthropic (which requires one) when the request sets neither max_completion_tokens nor max_tokens (default ${DEFAULT_MAX_TOKENS})`,
    },
  },
  checkUrl,
  // providers.yaml keys of the OpenAI dialects would be accepted by the shared schema and mean nothing here.
  checkProvider: (provider, problem) => {
    for (const key of ["profile", "extra_fields", "responses"]) {
      if (provider[key] !== undefined)
        problem(`provider '${provider.id}' sets ${key}, which anthropic providers do not take (it is for openai-compatible ones)`);
    }
  },
  codec: (provider: Provider, create) =>
    anthropicCodec({
      providerId: provider.id,
      version: typeof provider.anthropic_version === "string" ? provider.anthropic_version : DEFAULT_ANTHROPIC_VERSION,
      maxOutputTokens: positiveInteger(create.settings.max_output_tokens),
    }),
};
