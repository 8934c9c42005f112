/**
 * A key's standing against its limits, as both limiters compute it, and what the client sees of
 * it: OpenAI's `x-ratelimit-*` headers on every answer, and the 429 of a refusal.
 */
import type { ApiKey } from "../core/api-key.js";
import { clipEcho, RateLimitError } from "../core/errors.js";
import * as bucket from "./bucket.js";
import type { RateLimitHeaders } from "./limiter.js";

/** A key's limits as the arithmetic takes them (see bucket.normalLimit); absent: not limited. */
export interface KeyLimits {
  readonly rpm?: number;
  readonly tpm?: number;
  readonly maxConcurrent?: number;
}

/** What the key has used: bucket units of requests and tokens, and its requests in flight. */
export interface Usage {
  readonly requestUnits: number;
  readonly tokenUnits: number;
  readonly inFlight: number;
}

/**
 * A refused request may retry after this long when its key is at max_concurrent: when a slot frees
 * is unknown (it is when one of the key's requests ends), so a short wait, as for a busy server.
 */
export const CONCURRENCY_RETRY_MS = 1_000;

/** The key's limits, or undefined for a key that has none (admitted without any bookkeeping). */
export function keyLimits(key: ApiKey): KeyLimits | undefined {
  if (key.rpm === undefined && key.tpm === undefined && key.max_concurrent === undefined) return undefined;
  const limit = (value: number | undefined) => (value === undefined ? undefined : bucket.normalLimit(value));
  return { rpm: limit(key.rpm), tpm: limit(key.tpm), maxConcurrent: limit(key.max_concurrent) };
}

/**
 * Go's time.Duration format, which OpenAI's `x-ratelimit-reset-*` headers use: `0s`, `20ms`,
 * `1s`, `1.5s`, `6m0s`, `1h0m0s` (millisecond precision here).
 */
export function openaiDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total === 0) return "0s";
  if (total < 1000) return `${total}ms`;
  const hours = Math.floor(total / 3_600_000);
  const minutes = Math.floor((total % 3_600_000) / 60_000);
  const millis = total % 60_000;
  const seconds = `${Math.floor(millis / 1000)}${
    millis % 1000 === 0
      ? ""
      : `.${String(millis % 1000)
          .padStart(3, "0")
          .replace(/0+$/, "")}`
  }s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}

/** The headers of the key's standing: the requests trio when it has rpm, the tokens trio when it has tpm. */
export function rateLimitHeaders(limits: KeyLimits, usage: Usage): RateLimitHeaders {
  const headers: Record<string, string> = {};
  if (limits.rpm !== undefined) {
    headers["x-ratelimit-limit-requests"] = String(limits.rpm);
    headers["x-ratelimit-remaining-requests"] = String(bucket.remaining(usage.requestUnits, limits.rpm));
    headers["x-ratelimit-reset-requests"] = openaiDuration(bucket.msUntilFull(usage.requestUnits, limits.rpm));
  }
  if (limits.tpm !== undefined) {
    headers["x-ratelimit-limit-tokens"] = String(limits.tpm);
    headers["x-ratelimit-remaining-tokens"] = String(bucket.remaining(usage.tokenUnits, limits.tpm));
    headers["x-ratelimit-reset-tokens"] = openaiDuration(bucket.msUntilFull(usage.tokenUnits, limits.tpm));
  }
  return headers;
}

/** Whether one more request of the key may start now (usage before it). */
export function admits(limits: KeyLimits, usage: Usage): boolean {
  return (
    (limits.rpm === undefined || bucket.requestFits(usage.requestUnits, limits.rpm)) &&
    (limits.tpm === undefined || bucket.tokensLeft(usage.tokenUnits, limits.tpm)) &&
    (limits.maxConcurrent === undefined || usage.inFlight < limits.maxConcurrent)
  );
}

/** The usage once one more request was admitted. */
export function withOneMore(limits: KeyLimits, usage: Usage): Usage {
  return {
    requestUnits: limits.rpm === undefined ? 0 : usage.requestUnits + bucket.WINDOW_MS,
    tokenUnits: usage.tokenUnits,
    inFlight: usage.inFlight + 1,
  };
}

/**
 * The 429 for a request the key's usage (before it) does not admit, in OpenAI's shape and wording:
 * type `requests` or `tokens`, code `rate_limit_exceeded`; a key at max_concurrent gets code
 * `concurrency_limit_exceeded` (OpenAI has no such limit). The message names the first limit
 * reached; `Retry-After` (whole seconds, at least 1) waits for every limit reached.
 */
export function refusal(keyName: string, limits: KeyLimits, usage: Usage): RateLimitError {
  const name = clipEcho(keyName);
  const reasons: { ms: number; type: string; code: string; message: (wait: string) => string }[] = [];
  const { rpm, tpm, maxConcurrent } = limits;
  if (rpm !== undefined && !bucket.requestFits(usage.requestUnits, rpm)) {
    const used = Math.min(rpm, bucket.used(usage.requestUnits));
    reasons.push({
      ms: bucket.msUntilRequestFits(usage.requestUnits, rpm),
      type: "requests",
      code: "rate_limit_exceeded",
      message: (wait) =>
        `Rate limit reached for key '${name}' on requests per min (RPM): Limit ${rpm}, Used ${used}, Requested 1. Please try again in ${wait}.`,
    });
  }
  if (tpm !== undefined && !bucket.tokensLeft(usage.tokenUnits, tpm)) {
    const used = bucket.used(usage.tokenUnits);
    reasons.push({
      ms: bucket.msUntilTokensLeft(usage.tokenUnits, tpm),
      type: "tokens",
      code: "rate_limit_exceeded",
      message: (wait) => `Rate limit reached for key '${name}' on tokens per min (TPM): Limit ${tpm}, Used ${used}. Please try again in ${wait}.`,
    });
  }
  if (maxConcurrent !== undefined && usage.inFlight >= maxConcurrent) {
    reasons.push({
      ms: CONCURRENCY_RETRY_MS,
      type: "requests",
      code: "concurrency_limit_exceeded",
      message: () =>
        `Concurrency limit reached for key '${name}': Limit ${maxConcurrent}, In flight ${usage.inFlight}. Please try again once one of its requests has finished.`,
    });
  }
  // A usage that admits after all (a limiter's race, a limit raised by a reload): retry at once.
  const first = reasons[0] ?? {
    ms: CONCURRENCY_RETRY_MS,
    type: "requests",
    code: "rate_limit_exceeded",
    message: () => `Rate limit reached for key '${name}'.`,
  };
  const waitMs = Math.max(first.ms, ...reasons.map((r) => r.ms));
  const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
  return new RateLimitError(first.message(openaiDuration(waitMs)), retryAfter, first.type, first.code, rateLimitHeaders(limits, usage));
}
