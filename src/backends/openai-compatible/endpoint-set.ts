/**
 * A provider's endpoints: smooth weighted round robin over the healthy ones, consecutive-failure
 * cooldown, Retry-After holds, and one bounded keep-alive connection pool per endpoint.
 * Shared by every registration that names the same provider configuration, so the connection bound
 * and the health state are per endpoint, not per model.
 */
import type { Pool } from "undici";
import type { Provider } from "../types.js";
import type { UpstreamOptions } from "./options.js";
import { undici } from "./undici-module.js";
import { urlSecrets } from "./url-secrets.js";

export interface Endpoint {
  readonly index: number;
  /** `<provider-id>#<index>`: what the x-understudy-endpoint header and logs show (never the URL). */
  readonly label: string;
  readonly origin: string;
  /** The URL's path without a trailing slash, e.g. `/v1`; operation paths are appended to it. */
  readonly basePath: string;
  readonly search: string;
  readonly weight: number;
  readonly apiKeyEnv?: string;
  readonly pool: Pool;
  failures: number;
  coolUntil: number;
  retryAfterUntil: number;
  /** Smooth weighted round robin state. */
  current: number;
}

export interface Pick {
  endpoint: Endpoint;
  /** How long this endpoint asked us to wait (Retry-After) when no endpoint is free. */
  waitMs: number;
  /** Every endpoint was cooling down or held; this one was taken anyway. */
  forced: boolean;
}

export class EndpointSet {
  readonly endpoints: readonly Endpoint[];
  /** Credentials written into the endpoint URLs themselves (fixed for the set's life). */
  private readonly urlSecrets: readonly string[];

  constructor(
    readonly provider: Provider,
    private readonly options: UpstreamOptions,
  ) {
    const t = options.timeouts;
    this.endpoints = provider.endpoints.map((e, index) => {
      const url = new URL(e.url);
      const pool = new (undici().Pool)(url.origin, {
        connections: options.maxConnections,
        connect: { timeout: t.connect_ms },
        headersTimeout: t.first_byte_ms,
        bodyTimeout: t.idle_ms,
      });
      return {
        index,
        label: `${provider.id}#${index}`,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ""),
        search: url.search,
        weight: e.weight,
        apiKeyEnv: e.api_key_env,
        pool,
        failures: 0,
        coolUntil: 0,
        retryAfterUntil: 0,
        current: 0,
      };
    });
    this.urlSecrets = provider.endpoints.flatMap((e) => urlSecrets(e.url));
  }

  /**
   * The next endpoint for an attempt. Endpoints already `tried` by this request are avoided while
   * another healthy one exists; when none is healthy, the one free soonest is taken (`forced`).
   */
  pick(now: number, tried?: readonly Endpoint[]): Pick {
    const all = this.endpoints;
    if (all.length === 1) return this.single(all[0], now);
    let best: Endpoint | undefined;
    let total = 0;
    for (const pass of [true, false]) {
      for (const e of all) {
        if (e.coolUntil > now || e.retryAfterUntil > now) continue;
        if (pass && tried?.includes(e)) continue;
        e.current += e.weight;
        total += e.weight;
        if (!best || e.current > best.current) best = e;
      }
      if (best) {
        best.current -= total;
        return { endpoint: best, waitMs: 0, forced: false };
      }
    }
    let soonest = all[0];
    for (const e of all) if (Math.max(e.coolUntil, e.retryAfterUntil) < Math.max(soonest.coolUntil, soonest.retryAfterUntil)) soonest = e;
    return { endpoint: soonest, waitMs: Math.max(0, soonest.retryAfterUntil - now), forced: true };
  }

  private single(e: Endpoint, now: number): Pick {
    const free = e.coolUntil <= now && e.retryAfterUntil <= now;
    return { endpoint: e, waitMs: Math.max(0, e.retryAfterUntil - now), forced: !free };
  }

  /**
   * The configured key values, read now (never cached), and the URLs' credentials: what redaction must hide. Every one,
   * however short (a short key garbles some log text; a leaked one is worse), longest first so a
   * key containing another is hidden whole.
   */
  secrets(): string[] {
    const out = [...this.urlSecrets];
    for (const e of this.endpoints) {
      const v = e.apiKeyEnv ? process.env[e.apiKeyEnv] : undefined;
      if (v) out.push(v);
    }
    return out.length > 1 ? out.sort((a, b) => b.length - a.length) : out;
  }

  /** `text` with every configured key value replaced. */
  redact(text: string): string {
    return redactSecrets(text, this.secrets());
  }

  /** A success ends any cooldown early (it was a probe taken because nothing else was free). */
  succeeded(e: Endpoint): void {
    e.failures = 0;
    e.coolUntil = 0;
  }

  /** A connection error, timeout, 5xx or auth failure: counts towards the cooldown. */
  failed(e: Endpoint, now: number): void {
    e.failures++;
    if (e.failures >= this.options.retry.failures_before_cooldown) {
      e.failures = 0;
      e.coolUntil = now + this.options.retry.cooldown_ms;
    }
  }

  /** The endpoint said when to come back (429/503 with Retry-After). */
  holdUntil(e: Endpoint, until: number): void {
    if (until > e.retryAfterUntil) e.retryAfterUntil = until;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.endpoints.map((e) => e.pool.close()));
  }
}

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
  return out;
}

interface Shared {
  set: EndpointSet;
  refs: number;
}

const shared = new Map<string, Shared>();

/**
 * The EndpointSet for a provider configuration, shared across registrations and config reloads
 * while the configuration is unchanged. Call the returned release once per acquire.
 */
export function acquireEndpointSet(provider: Provider, options: UpstreamOptions): { set: EndpointSet; release: () => Promise<void> } {
  const key = JSON.stringify([provider, options]);
  let entry = shared.get(key);
  if (!entry) {
    entry = { set: new EndpointSet(provider, options), refs: 0 };
    shared.set(key, entry);
  }
  entry.refs++;
  const held = entry;
  let released = false;
  return {
    set: held.set,
    release: async () => {
      if (released) return;
      released = true;
      if (--held.refs > 0) return;
      shared.delete(key);
      await held.set.close();
    },
  };
}
