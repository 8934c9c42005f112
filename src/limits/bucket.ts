/**
 * The arithmetic of a key's per-minute limits, shared by the in-process limiter and (mirrored in
 * Lua, redis-scripts.ts) the Redis one: a leaky bucket, the GCRA form of a token bucket. Why a
 * bucket rather than a log of request times: its state is two integers per key and limit whatever
 * the rpm (a log of a 100,000-rpm key holds 100,000 entries, in memory or a Redis sorted set), it is
 * exact to the millisecond (no window granularity), and its headers mean what OpenAI's mean: a
 * limit is replenished continuously, `remaining` is what may be sent right now, `reset` the time
 * until the key is back to its full allowance.
 *
 * A bucket's `units` are what the key has used, counted in item × WINDOW_MS (one request adds
 * WINDOW_MS), and drain at `limit` units per millisecond: a full minute's allowance (limit ×
 * WINDOW_MS) drains in exactly one minute. All integers: a limit up to MAX_LIMIT keeps every value
 * below 2^53 (and Redis's 64-bit integers).
 */

/** The period of rpm and tpm. */
export const WINDOW_MS = 60_000;
/** Largest rpm or tpm the arithmetic takes: 2 × MAX_LIMIT × WINDOW_MS is far below 2^53. Larger limits are treated as this. */
export const MAX_LIMIT = 1_000_000_000;
/**
 * Token debt is capped just under two minutes' allowance ((2 × tpm − 1) tokens): however many
 * tokens one answer reports, the key is refused for at most one minute afterwards ("tokens in the
 * last minute" never remembers more).
 */
export const MAX_TOKEN_DEBT_MINUTES = 2;

export interface Level {
  /** Used units when last written. */
  readonly units: number;
  /** When (epoch ms). */
  readonly at: number;
}

/** A limit from keys.yaml as the arithmetic takes it: an integer in 0..MAX_LIMIT (0: nothing is allowed). */
export function normalLimit(limit: number): number {
  return Math.min(MAX_LIMIT, Math.max(0, Math.floor(limit)));
}

/** The used units at `now`: drained since the last write (a clock that went back drains nothing). */
export function unitsAt(level: Level | undefined, limit: number, now: number): number {
  if (level === undefined) return 0;
  return Math.max(0, level.units - Math.max(0, now - level.at) * limit);
}

/** Whether one more request fits under rpm. */
export const requestFits = (units: number, rpm: number) => units + WINDOW_MS <= rpm * WINDOW_MS;

/**
 * Whether a request may start under tpm: its own tokens are unknown until it has run, so it is
 * refused only once the tokens already counted leave not one whole token (`remaining-tokens: 0`).
 */
export const tokensLeft = (units: number, tpm: number) => units + WINDOW_MS <= tpm * WINDOW_MS;

/** Milliseconds until one more request fits (a zero limit: a whole window, it never will). */
export function msUntilRequestFits(units: number, rpm: number): number {
  if (rpm === 0) return WINDOW_MS;
  return Math.max(0, Math.ceil((units + WINDOW_MS - rpm * WINDOW_MS) / rpm));
}

/** Milliseconds until one whole token is left again. */
export const msUntilTokensLeft = msUntilRequestFits;

/** Whole items (requests, tokens) that may be used right now. */
export const remaining = (units: number, limit: number) => Math.max(0, Math.floor((limit * WINDOW_MS - units) / WINDOW_MS));

/** Whole items counted against the limit now (the `Used` of a refusal's message). */
export const used = (units: number) => Math.ceil(units / WINDOW_MS);

/** Milliseconds until the bucket is empty: the key back to its full allowance. */
export const msUntilFull = (units: number, limit: number) => (limit === 0 ? 0 : Math.ceil(units / limit));

/** Tokens as they are counted: a whole non-negative number, at most the debt cap (a hostile or broken usage report cannot overflow). */
export function countableTokens(tokens: number, tpm: number): number {
  if (!Number.isFinite(tokens) || tokens <= 0) return 0;
  return Math.min(Math.floor(tokens), MAX_TOKEN_DEBT_MINUTES * tpm);
}

/** The units after counting `tokens` (from countableTokens), capped at the debt cap. */
export const addTokens = (units: number, tokens: number, tpm: number) => Math.min(units + tokens * WINDOW_MS, (MAX_TOKEN_DEBT_MINUTES * tpm - 1) * WINDOW_MS);
