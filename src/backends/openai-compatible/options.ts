/**
 * Per-provider connection settings from providers.yaml, with the documented defaults filled in.
 * Resolved once per backend instance so the request path only reads plain numbers.
 */
import type { Provider } from "../types.js";
import { EXTRA_FIELDS, isProfileName, PROFILES, type ExtraFields, type ProfileName } from "./profiles.js";
import { DEFAULT_MAX_RESPONSE_BYTES } from "./response-limits.js";

export interface Timeouts {
  /** TCP (+TLS) connect. */
  connect_ms: number;
  /** From sending the request to receiving the response headers. */
  first_byte_ms: number;
  /** Largest gap between two pieces of the response body (stream chunks included). */
  idle_ms: number;
  /** The whole upstream exchange, retries and the full stream included. */
  total_ms: number;
}

export interface RetryPolicy {
  /** Attempts per request, the first included (1 = no retry). */
  attempts: number;
  backoff_ms: number;
  max_backoff_ms: number;
  /** Consecutive failures after which an endpoint is skipped for cooldown_ms. */
  failures_before_cooldown: number;
  cooldown_ms: number;
  /** A Retry-After longer than this is not waited for: the rate limit goes back to the client. */
  max_retry_after_ms: number;
}

export interface UpstreamOptions {
  timeouts: Timeouts;
  retry: RetryPolicy;
  /** Open connections per endpoint (further requests queue in the pool). */
  maxConnections: number;
  /** Largest upstream body read whole (a non-streaming answer; one stream event); beyond it a 502. */
  maxResponseBytes: number;
  profile: ProfileName;
  /** Top-level fields the spec does not declare: sent upstream unchanged, or a 400. */
  extraFields: ExtraFields;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = { connect_ms: 5_000, first_byte_ms: 60_000, idle_ms: 30_000, total_ms: 600_000 };
export const DEFAULT_RETRY: Readonly<RetryPolicy> = {
  attempts: 3,
  backoff_ms: 100,
  max_backoff_ms: 2_000,
  failures_before_cooldown: 3,
  cooldown_ms: 30_000,
  max_retry_after_ms: 10_000,
};
export const DEFAULT_MAX_CONNECTIONS = 64;

/** providers.yaml keys every upstream backend accepts beyond the common ones (config/schema.ts). */
export const UPSTREAM_PROVIDER_PROPERTIES = {
  max_response_bytes: {
    type: "integer",
    minimum: 1024,
    description: `largest upstream response body read, in bytes (default ${DEFAULT_MAX_RESPONSE_BYTES}); a larger one is a 502 upstream_protocol_error`,
  },
} as const;

/** The openai-compatible provider key `extra_fields` (huggingface-tgi providers always reject). */
export const EXTRA_FIELDS_PROPERTY = {
  enum: [...EXTRA_FIELDS],
  description:
    "top-level request fields the spec does not declare: pass sends them upstream unchanged, reject answers 400 (default: pass for the vllm, llamacpp-server and understudy profiles, reject otherwise)",
} as const;

export function resolveOptions(provider: Provider, kind: string): UpstreamOptions {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...(provider.timeouts as Partial<Timeouts> | undefined) };
  const retry = { ...DEFAULT_RETRY, ...(provider.retry as Partial<RetryPolicy> | undefined) };
  const maxConnections = typeof provider.max_connections === "number" ? provider.max_connections : DEFAULT_MAX_CONNECTIONS;
  const maxResponseBytes = typeof provider.max_response_bytes === "number" ? provider.max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
  const profile = profileFor(provider, kind);
  return { timeouts, retry, maxConnections, maxResponseBytes, profile, extraFields: extraFieldsFor(provider, kind, profile) };
}

/** The provider's `extra_fields`, else its profile's default; TGI's Messages API would drop unknown fields silently. */
function extraFieldsFor(provider: Provider, kind: string, profile: ProfileName): ExtraFields {
  if (kind === "huggingface-tgi") return "reject";
  return provider.extra_fields === "pass" || provider.extra_fields === "reject" ? provider.extra_fields : PROFILES[profile].extraFields;
}

/** huggingface-tgi always speaks TGI; openai-compatible providers name theirs (default: plain OpenAI). */
export function profileFor(provider: Provider, kind: string): ProfileName {
  if (kind === "huggingface-tgi") return "tgi";
  return isProfileName(provider.profile) ? provider.profile : "openai";
}
