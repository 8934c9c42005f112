/**
 * Per-key limits shared by replicas through Redis (UNDERSTUDY_REDIS_URL): the same buckets and
 * concurrency as the in-process limiter, each check-and-count one Lua script (redis-scripts.ts).
 * Every call is bounded like the response store's: the client connects on first use, a command
 * waits at most `timeoutMs`, and a request gives up after one reconnection attempt. When Redis
 * cannot be reached, admission fails closed (503 `limits_unavailable`, the default) or open (the
 * request is admitted unlimited, a warning logged once per outage), per UNDERSTUDY_LIMITS_FAIL.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { lazyModule } from "../core/lazy-module.js";
import type { ApiKey } from "../core/api-key.js";
import { LimitsUnavailableError } from "../core/errors.js";
import * as bucket from "./bucket.js";
import type { Limiter, Ticket } from "./limiter.js";
import { UNLIMITED_TICKET } from "./memory-limiter.js";
import { ADMIT_LUA, END_LUA, RENEW_LUA } from "./redis-scripts.js";
import { keyLimits, rateLimitHeaders, refusal, type KeyLimits, type Usage } from "./standing.js";

const ioredis = lazyModule<typeof import("ioredis")>("ioredis");

export const LIMITS_KEY_PREFIX = "understudy:limit:";
/** How long connecting and each command may take before admission fails (closed or open). Set with `UNDERSTUDY_REDIS_TIMEOUT_MS`. */
export const REDIS_LIMITS_TIMEOUT_MS = 5_000;
/**
 * A concurrency slot's lease: a running request's replica renews it every third of this, so the
 * slots of a replica that died (or lost Redis) are free again within one lease.
 */
export const CONCURRENCY_LEASE_MS = 60_000;
/** `Retry-After` of a 503 `limits_unavailable`: about when the client, reconnecting every ≤2 s, may have Redis back. */
export const LIMITS_UNAVAILABLE_RETRY_AFTER_S = 2;
const RETRIES_PER_REQUEST = 1;
const MAX_RECONNECT_DELAY_MS = 2_000;

export type LimitsFailMode = "closed" | "open";

/** The part of a pino logger the limiter uses. */
export interface WarnLog {
  warn(obj: object, msg: string): void;
}

export interface RedisLimiterOptions {
  url: string;
  failMode: LimitsFailMode;
  timeoutMs?: number;
  keyPrefix?: string;
  leaseMs?: number;
  log?: WarnLog;
}

interface LimitCommands {
  understudyAdmit(req: string, tok: string, conc: string, rpm: number, tpm: number, maxc: number, id: string, leaseMs: number): Promise<number[]>;
  understudyEnd(tok: string, conc: string, tpm: number, tokens: number, id: string): Promise<number>;
  understudyRenew(conc: string, leaseMs: number, ...ids: string[]): Promise<number>;
}

/** -1 for a limit the key does not have (the scripts' "not limited"). */
const arg = (limit: number | undefined) => limit ?? -1;

export class RedisLimiter implements Limiter {
  private readonly client: Redis & LimitCommands;
  private readonly prefix: string;
  private readonly leaseMs: number;
  /** Concurrency tickets held by this replica: id -> its key's sorted set, renewed while they run. */
  private readonly held = new Map<string, string>();
  /** Ends sent and not yet answered: close() waits for them. */
  private readonly pending = new Set<Promise<unknown>>();
  private readonly renewTimer: NodeJS.Timeout;
  private lastConnectionError: Error | undefined;
  /** Whether the current outage was logged already (fail open logs once per outage, not per request). */
  private outageLogged = false;
  private closed = false;

  constructor(private readonly options: RedisLimiterOptions) {
    const timeout = options.timeoutMs ?? REDIS_LIMITS_TIMEOUT_MS;
    this.prefix = options.keyPrefix ?? LIMITS_KEY_PREFIX;
    this.leaseMs = options.leaseMs ?? CONCURRENCY_LEASE_MS;
    const client = new (ioredis().Redis)(options.url, {
      lazyConnect: true,
      connectTimeout: timeout,
      commandTimeout: timeout,
      maxRetriesPerRequest: RETRIES_PER_REQUEST,
      retryStrategy: (attempt) => Math.min(attempt * 200, MAX_RECONNECT_DELAY_MS),
    });
    client.defineCommand("understudyAdmit", { numberOfKeys: 3, lua: ADMIT_LUA });
    client.defineCommand("understudyEnd", { numberOfKeys: 2, lua: END_LUA });
    client.defineCommand("understudyRenew", { numberOfKeys: 1, lua: RENEW_LUA });
    this.client = client as Redis & LimitCommands;
    // Without a listener ioredis prints every failed reconnection; admissions report it.
    this.client.on("error", (err: Error) => void (this.lastConnectionError = err));
    this.client.on("ready", () => void (this.lastConnectionError = undefined));
    this.renewTimer = setInterval(() => this.renewLeases(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.renewTimer.unref();
  }

  async admit(key: ApiKey): Promise<Ticket> {
    const limits = keyLimits(key);
    if (limits === undefined) return UNLIMITED_TICKET;
    const keys = this.keysOf(key.name);
    const id = limits.maxConcurrent === undefined ? "" : randomUUID();
    let reply: number[];
    try {
      if (this.closed) throw new Error("the limiter is closed");
      // While the client is between reconnection attempts after a failure, waiting for one would only delay the same answer.
      if (this.lastConnectionError !== undefined && this.client.status !== "ready") throw this.lastConnectionError;
      reply = await this.client.understudyAdmit(keys.req, keys.tok, keys.conc, arg(limits.rpm), arg(limits.tpm), arg(limits.maxConcurrent), id, this.leaseMs);
    } catch (err) {
      return this.unavailable(key, err);
    }
    this.outageLogged = false;
    const [admitted, requestUnits, tokenUnits, inFlight] = reply.map(Number);
    const usage: Usage = { requestUnits, tokenUnits, inFlight };
    if (admitted !== 1) throw refusal(key.name, limits, usage);
    if (id !== "") this.held.set(id, keys.conc);
    return this.ticket(limits, keys, id, rateLimitHeaders(limits, usage));
  }

  async healthy(): Promise<boolean> {
    if (this.closed) return false;
    return this.client.ping().then(
      () => true,
      () => false,
    );
  }

  /** Waits for the ends sent so far to be answered (or to fail). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.renewTimer);
    await this.flush();
    this.held.clear();
    if (this.client.status === "ready") await this.client.quit().catch(() => this.client.disconnect());
    else this.client.disconnect();
  }

  private keysOf(name: string): { req: string; tok: string; conc: string } {
    // The hash tag keeps a key's three Redis keys in one cluster slot; the name is encoded so its own braces cannot move the tag.
    const base = `${this.prefix}{${encodeURIComponent(name)}}`;
    return { req: `${base}:req`, tok: `${base}:tok`, conc: `${base}:conc` };
  }

  private ticket(limits: KeyLimits, keys: { tok: string; conc: string }, id: string, headers: Ticket["headers"]): Ticket {
    let ended = false;
    return {
      headers,
      end: (tokens: number) => {
        if (ended) return;
        ended = true;
        if (id !== "") this.held.delete(id);
        const tpm = limits.tpm;
        const counted = tpm === undefined ? 0 : bucket.countableTokens(tokens, tpm);
        if (id === "" && counted === 0) return;
        // Not awaited: the answer is complete. A failure loses the tokens, and the slot stays taken until its lease ends.
        const sent = this.client
          .understudyEnd(keys.tok, keys.conc, arg(tpm), counted, id)
          .catch((err: Error) => this.options.log?.warn({ err: err.message }, "rate limits: a request's end could not be recorded in Redis"))
          .finally(() => this.pending.delete(sent));
        this.pending.add(sent);
      },
    };
  }

  /** Renews the leases of the tickets this replica holds, one script per key. */
  private renewLeases(): void {
    if (this.held.size === 0 || this.closed) return;
    const byKey = new Map<string, string[]>();
    for (const [id, conc] of this.held) {
      const ids = byKey.get(conc);
      if (ids === undefined) byKey.set(conc, [id]);
      else ids.push(id);
    }
    for (const [conc, ids] of byKey) {
      this.client.understudyRenew(conc, this.leaseMs, ...ids).catch(() => undefined);
    }
  }

  private unavailable(key: ApiKey, err: unknown): Ticket {
    // "max retries reached" says less than why: the connection's own error (ECONNREFUSED...).
    const cause = (err as Error).name === "MaxRetriesPerRequestError" ? (this.lastConnectionError ?? err) : err;
    const open = this.options.failMode === "open";
    if (!this.outageLogged) {
      const effect = open ? "admitting requests unlimited" : "refusing requests of limited keys with 503";
      this.options.log?.warn(
        { err: (cause as Error).message, key: key.name },
        `rate limits: Redis unreachable, ${effect} (UNDERSTUDY_LIMITS_FAIL=${this.options.failMode})`,
      );
    }
    this.outageLogged = true;
    if (open) return UNLIMITED_TICKET;
    throw new LimitsUnavailableError("Rate limits cannot be checked right now: their store is unreachable. Retry shortly.", LIMITS_UNAVAILABLE_RETRY_AFTER_S, {
      cause,
    });
  }
}
