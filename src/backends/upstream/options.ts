/**
 * Per-provider connection settings from providers.yaml, with the documented defaults filled in.
 * Resolved once per backend instance so the request path only reads plain numbers.
 */
import type { Provider } from "../types.js";
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
  /** Consecutive failures after which a URL is skipped for cooldown_ms. */
  failures_before_cooldown: number;
  cooldown_ms: number;
  /** A Retry-After longer than this is not waited for: the rate limit goes back to the client. */
  max_retry_after_ms: number;
}

export interface UpstreamOptions {
  timeouts: Timeouts;
  retry: RetryPolicy;
  /** Open connections per URL (further requests queue in the pool). */
  maxConnections: number;
  /** Largest upstream body read whole (a non-streaming answer; one stream event); beyond it a 502. */
  maxResponseBytes: number;
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

/** The shared settings of a provider, with defaults; its dialect resolves its own (Dialect.codec). */
export function resolveOptions(provider: Provider): UpstreamOptions {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...(provider.timeouts as Partial<Timeouts> | undefined) };
  const retry = { ...DEFAULT_RETRY, ...(provider.retry as Partial<RetryPolicy> | undefined) };
  const maxConnections = typeof provider.max_connections === "number" ? provider.max_connections : DEFAULT_MAX_CONNECTIONS;
  const maxResponseBytes = typeof provider.max_response_bytes === "number" ? provider.max_response_bytes : DEFAULT_MAX_RESPONSE_BYTES;
  return { timeouts, retry, maxConnections, maxResponseBytes };
}
