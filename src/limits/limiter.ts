/**
 * Per-key request limits (rpm, tpm, max_concurrent of keys.yaml): in process by default, in Redis
 * when replicas must share them. `admit` is called once a request's key is known and before any
 * work; the ticket it gives is ended once the answer is complete (a stream: after its last frame),
 * with the tokens the answer reported.
 */
import type { ApiKey } from "../core/api-key.js";

/** OpenAI's rate-limit headers (`x-ratelimit-limit-requests`, `-remaining-requests`, `-reset-requests`, and `-tokens`). */
export type RateLimitHeaders = Readonly<Record<string, string>>;

export interface Ticket {
  /** Headers to send with the answer (the key's current standing). */
  readonly headers: RateLimitHeaders;
  /** Ends the request: frees its concurrency slot and counts its tokens (0 when none were reported). Idempotent. */
  end(tokens: number): void;
}

export interface Limiter {
  /**
   * Admits one request of the key, or rejects with a RateLimitError (429, `Retry-After` and the
   * rate-limit headers) when the key is over rpm, tpm or max_concurrent (standing.ts `refusal`).
   * A key without limits is always admitted, at no cost. With a shared store that cannot be
   * reached: rejects with LimitsUnavailableError (503 `limits_unavailable`, `Retry-After`), or
   * admits without limits, per UNDERSTUDY_LIMITS_FAIL. Every admitted ticket must be ended once,
   * on every path (success, error, client abort): a ticket never ended holds a concurrency slot
   * (in process for good; in Redis until its lease runs out).
   */
  admit(key: ApiKey): Promise<Ticket>;
  /** Whether the shared store is reachable (for /ready); true in process. */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}
