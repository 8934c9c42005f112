/**
 * Per-key limits in this process (no UNDERSTUDY_REDIS_URL): a bucket per key for rpm and one for
 * tpm (bucket.ts), and a count of its requests in flight for max_concurrent. State exists only for
 * keys that made a limited request (keys.yaml bounds them), and a key's state is dropped once its
 * buckets drained and nothing of it is in flight, so a key removed by a reload is forgotten too.
 */
import type { ApiKey } from "../core/api-key.js";
import * as bucket from "./bucket.js";
import type { Limiter, Ticket } from "./limiter.js";
import { admits, keyLimits, rateLimitHeaders, refusal, withOneMore, type KeyLimits, type Usage } from "./standing.js";

/** How often at most idle keys' state is swept (on an admission, so no timer keeps the process alive). */
export const SWEEP_INTERVAL_MS = bucket.WINDOW_MS;

export interface MemoryLimiterOptions {
  /** The clock (epoch ms): tests move it instead of sleeping. */
  now?: () => number;
}

interface KeyState {
  /** The limits of the key's last admission: its tokens are counted against them (a reload may change them). */
  limits: KeyLimits;
  requests: bucket.Level | undefined;
  tokens: bucket.Level | undefined;
  inFlight: number;
}

/** The ticket of a key without limits: nothing to count or free. */
export const UNLIMITED_TICKET: Ticket = Object.freeze({ headers: Object.freeze({}), end: () => undefined });

export class MemoryLimiter implements Limiter {
  private readonly states = new Map<string, KeyState>();
  private readonly now: () => number;
  private lastSweep: number;

  constructor(options: MemoryLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  async admit(key: ApiKey): Promise<Ticket> {
    const limits = keyLimits(key);
    if (limits === undefined) return UNLIMITED_TICKET;
    const now = this.now();
    this.sweepIdle(now);
    const state = this.stateOf(key.name, limits);
    const usage = this.usageAt(state, limits, now);
    if (!admits(limits, usage)) throw refusal(key.name, limits, usage);
    const after = withOneMore(limits, usage);
    if (limits.rpm !== undefined) state.requests = { units: after.requestUnits, at: now };
    state.inFlight += 1;
    return this.ticket(state, rateLimitHeaders(limits, after));
  }

  async healthy(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.states.clear();
  }

  /** Keys with state (for tests: bounded by the keys in use). */
  get trackedKeys(): number {
    return this.states.size;
  }

  private ticket(state: KeyState, headers: Ticket["headers"]): Ticket {
    let ended = false;
    return {
      headers,
      end: (tokens: number) => {
        if (ended) return;
        ended = true;
        state.inFlight -= 1;
        this.countTokens(state, tokens);
      },
    };
  }

  private countTokens(state: KeyState, tokens: number): void {
    const tpm = state.limits.tpm;
    if (tpm === undefined || tpm === 0) return;
    const counted = bucket.countableTokens(tokens, tpm);
    if (counted === 0) return;
    const now = this.now();
    state.tokens = { units: bucket.addTokens(bucket.unitsAt(state.tokens, tpm, now), counted, tpm), at: now };
  }

  private stateOf(name: string, limits: KeyLimits): KeyState {
    let state = this.states.get(name);
    if (state === undefined) this.states.set(name, (state = { limits, requests: undefined, tokens: undefined, inFlight: 0 }));
    state.limits = limits;
    return state;
  }

  private usageAt(state: KeyState, limits: KeyLimits, now: number): Usage {
    return {
      requestUnits: limits.rpm === undefined ? 0 : bucket.unitsAt(state.requests, limits.rpm, now),
      tokenUnits: limits.tpm === undefined ? 0 : bucket.unitsAt(state.tokens, limits.tpm, now),
      inFlight: state.inFlight,
    };
  }

  /** Drops the state of keys with nothing in flight whose buckets drained (O(keys), at most once a SWEEP_INTERVAL_MS). */
  private sweepIdle(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS && now >= this.lastSweep) return;
    this.lastSweep = now;
    for (const [name, state] of this.states) {
      const usage = this.usageAt(state, state.limits, now);
      if (usage.inFlight === 0 && usage.requestUnits === 0 && usage.tokenUnits === 0) this.states.delete(name);
    }
  }
}
