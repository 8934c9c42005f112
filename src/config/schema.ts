/** JSON Schemas for the files in the config directory, checked with ajv at load time. */
import type { JsonSchema } from "../backends/types.js";
import { ENDPOINTS } from "../core/operations.js";
import { clientSideConfigSchema } from "./client-side-config.js";

/** `code_completion` is what Sourcegraph calls "autocomplete" (supported-models.json says so). */
export const CAPABILITIES = ["chat", "completion", "code_completion", "embeddings", "tools", "json_schema", "vision"] as const;
export const CATEGORIES = ["balanced", "speed", "accuracy"] as const;
export const STATUSES = ["stable", "beta", "deprecated"] as const;

const name = { type: "string", minLength: 1, pattern: "^[^\\s]+$" };

export function registrationFileSchema(backendKinds: string[]): JsonSchema {
  return {
    type: "object",
    additionalProperties: false,
    required: ["registration", "local_settings"],
    properties: {
      registration: {
        type: "object",
        additionalProperties: false,
        required: ["model"],
        properties: {
          model: name,
          endpoints: { type: "array", minItems: 1, uniqueItems: true, items: { enum: [...ENDPOINTS] } },
          aliases: { type: "array", uniqueItems: true, items: name },
          display_name: { type: "string", minLength: 1 },
          context_window: { type: "integer", minimum: 1 },
          max_output_tokens: { type: "integer", minimum: 1 },
          capabilities: { type: "array", uniqueItems: true, items: { enum: [...CAPABILITIES] } },
          status: { enum: [...STATUSES] },
          allow_debug: { type: "boolean" },
          category: { enum: [...CATEGORIES] },
        },
      },
      preset: name,
      client_side_config: clientSideConfigSchema,
      local_settings: {
        type: "object",
        required: ["backend"],
        properties: { backend: { enum: backendKinds } },
      },
      request_defaults: { type: "object" },
      request_overrides: { type: "object" },
    },
  };
}

/**
 * `defaultEndpointKinds`: provider types whose backend has a default URL (a public API), so their
 * entries may leave out `endpoints`; every other type must list them.
 */
export function providersFileSchema(
  upstreamKinds: string[],
  backendProperties: Record<string, JsonSchema> = {},
  defaultEndpointKinds: string[] = [],
): JsonSchema {
  const endpointsRequired =
    defaultEndpointKinds.length === 0 ? {} : { if: { properties: { type: { not: { enum: defaultEndpointKinds } } } }, then: { required: ["endpoints"] } };
  return {
    type: "array",
    items: {
      type: "object",
      additionalProperties: false,
      required: defaultEndpointKinds.length === 0 ? ["id", "type", "endpoints"] : ["id", "type"],
      ...endpointsRequired,
      properties: {
        id: { type: "string", pattern: "^[a-zA-Z0-9_.-]+$" },
        display_name: { type: "string" },
        type: upstreamKinds.length > 0 ? { enum: upstreamKinds } : { not: {} },
        api_version: { type: "string", minLength: 1 },
        debug_connections: { type: "boolean" },
        ...backendProperties,
        endpoints: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["url"],
            properties: {
              url: { type: "string", pattern: "^https?://" },
              api_key_env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
              weight: { type: "integer", minimum: 1 },
            },
          },
        },
        timeouts: {
          type: "object",
          additionalProperties: false,
          properties: {
            connect_ms: { type: "integer", minimum: 1 },
            first_byte_ms: { type: "integer", minimum: 1 },
            idle_ms: { type: "integer", minimum: 1 },
            total_ms: { type: "integer", minimum: 1 },
          },
        },
        retry: {
          type: "object",
          additionalProperties: false,
          properties: {
            attempts: { type: "integer", minimum: 1, maximum: 10 },
            backoff_ms: { type: "integer", minimum: 0 },
            max_backoff_ms: { type: "integer", minimum: 0 },
            failures_before_cooldown: { type: "integer", minimum: 1 },
            cooldown_ms: { type: "integer", minimum: 0 },
            max_retry_after_ms: { type: "integer", minimum: 0 },
          },
        },
        max_connections: { type: "integer", minimum: 1 },
      },
    },
  };
}

const defaultSlots = { chat: name, fast_chat: name, code_completion: name };

/** defaults.yaml's first shape: the slots at the top level (still read). */
export const defaultsFileSchema: JsonSchema = { type: "object", additionalProperties: false, properties: defaultSlots };

/** defaults.yaml: `default_models: {chat, fast_chat, code_completion}` and `recommended: [model refs]`. */
export const defaultModelsFileSchema: JsonSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    default_models: { type: "object", additionalProperties: false, properties: defaultSlots },
    recommended: { type: "array", uniqueItems: true, items: name },
  },
};
