/**
 * A provider's URLs (its providers.yaml `endpoints:`): smooth weighted round robin over the healthy
 * ones, consecutive-failure cooldown, Retry-After holds, and one bounded keep-alive connection pool
 * per URL. Shared by every registration that names the same provider configuration, so the
 * connection bound and the health state are per URL, not per model. ("Endpoint" in code means an
 * operation a registration serves; the config key keeps its name.)
 */
import type { Pool } from "undici";
import type { Provider, UpstreamUrlStatus } from "../types.js";
import type { UpstreamOptions } from "./options.js";
import { undici } from "./undici-module.js";
import { redactUrl, urlSecrets } from "./url-secrets.js";
import { telemetry } from "../../core/telemetry.js";

export interface UpstreamUrl {
  readonly index: number;
  /** `<provider-id>#<index>`: what the x-understudy-endpoint header and logs show (never the URL itself). */
  readonly label: string;
  /** The configured URL without userinfo or query values (url-secrets.ts): the metrics' endpoint label and the request log's upstream URL. */
  readonly shownUrl: string;
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
  /** The last counted failure's message (keys redacted, clipped) and its time (epoch ms, 0: none yet): for the admin page. */
  lastError: string | undefined;
  lastErrorAt: number;
  /** Smooth weighted round robin state. */
  current: number;
}

/** Longest last-error message kept per URL (an upstream's error body may be long). */
const MAX_LAST_ERROR_CHARS = 300;

export interface Pick {
  url: UpstreamUrl;
  /** How long this URL asked us to wait (Retry-After) when no URL is free. */
  waitMs: number;
  /** Every URL was cooling down or held; this one was taken anyway. */
  forced: boolean;
}

export class UrlSet {
  readonly urls: readonly UpstreamUrl[];
  /** Credentials written into the URLs themselves (fixed for the set's life). */
  private readonly urlSecrets: readonly string[];

  constructor(
    readonly provider: Provider,
    private readonly options: UpstreamOptions,
  ) {
    const t = options.timeouts;
    this.urls = provider.endpoints.map((configured, index) => {
      const url = new URL(configured.url);
      const pool = new (undici().Pool)(url.origin, {
        connections: options.maxConnections,
        connect: { timeout: t.connect_ms },
        headersTimeout: t.first_byte_ms,
        bodyTimeout: t.idle_ms,
      });
      const label = `${provider.id}#${index}`;
      const shownUrl = redactUrl(configured.url);
      shownUrls.set(label, shownUrl);
      if (provider.debug_connections) debugLabels.add(label);
      else debugLabels.delete(label);
      return {
        index,
        label,
        shownUrl,
        origin: url.origin,
        basePath: url.pathname.replace(/\/+$/, ""),
        search: url.search,
        weight: configured.weight,
        apiKeyEnv: configured.api_key_env,
        pool,
        failures: 0,
        coolUntil: 0,
        retryAfterUntil: 0,
        lastError: undefined,
        lastErrorAt: 0,
        current: 0,
      };
    });
    this.urlSecrets = provider.endpoints.flatMap((c) => urlSecrets(c.url));
  }

  /**
   * The next URL for an attempt. URLs already `tried` by this request are avoided while
   * another healthy one exists; when none is healthy, the one free soonest is taken (`forced`).
   */
  pick(now: number, tried?: readonly UpstreamUrl[]): Pick {
    const all = this.urls;
    if (all.length === 1) return this.single(all[0], now);
    let best: UpstreamUrl | undefined;
    let total = 0;
    for (const pass of [true, false]) {
      for (const u of all) {
        if (u.coolUntil > now || u.retryAfterUntil > now) continue;
        if (pass && tried?.includes(u)) continue;
        u.current += u.weight;
        total += u.weight;
        if (!best || u.current > best.current) best = u;
      }
      if (best) {
        best.current -= total;
        return { url: best, waitMs: 0, forced: false };
      }
    }
    let soonest = all[0];
    for (const u of all) if (Math.max(u.coolUntil, u.retryAfterUntil) < Math.max(soonest.coolUntil, soonest.retryAfterUntil)) soonest = u;
    return { url: soonest, waitMs: Math.max(0, soonest.retryAfterUntil - now), forced: true };
  }

  private single(u: UpstreamUrl, now: number): Pick {
    const free = u.coolUntil <= now && u.retryAfterUntil <= now;
    return { url: u, waitMs: Math.max(0, u.retryAfterUntil - now), forced: !free };
  }

  /**
   * The configured key values, read now (never cached), and the URLs' credentials: what redaction must hide. Every one,
   * however short (a short key garbles some log text; a leaked one is worse), longest first so a
   * key containing another is hidden whole.
   */
  secrets(): string[] {
    const out = [...this.urlSecrets];
    for (const u of this.urls) {
      const v = u.apiKeyEnv ? process.env[u.apiKeyEnv] : undefined;
      if (v) out.push(v);
    }
    return out.length > 1 ? out.sort((a, b) => b.length - a.length) : out;
  }

  /** `text` with every configured key value replaced. */
  redact(text: string): string {
    return redactSecrets(text, this.secrets());
  }

  /** A success ends any cooldown early (it was a probe taken because nothing else was free). */
  succeeded(u: UpstreamUrl): void {
    u.failures = 0;
    u.coolUntil = 0;
  }

  /** A connection error, timeout, 5xx or auth failure: counts towards the cooldown. `message` is kept, redacted and clipped, for the admin page. */
  failed(u: UpstreamUrl, now: number, message?: string): void {
    if (message !== undefined) {
      const shown = this.redact(message);
      u.lastError = shown.length > MAX_LAST_ERROR_CHARS ? `${shown.slice(0, MAX_LAST_ERROR_CHARS)}…` : shown;
      u.lastErrorAt = now;
    }
    u.failures++;
    if (u.failures >= this.options.retry.failures_before_cooldown) {
      u.failures = 0;
      u.coolUntil = now + this.options.retry.cooldown_ms;
      telemetry().upstreamCooldown(u.shownUrl);
    }
  }

  /** The URL's server said when to come back (429/503 with Retry-After). */
  holdUntil(u: UpstreamUrl, until: number): void {
    if (until > u.retryAfterUntil) u.retryAfterUntil = until;
  }

  /** Each URL's health now, as the admin page shows it. */
  statuses(now = Date.now()): UpstreamUrlStatus[] {
    return this.urls.map((u) => ({
      label: u.label,
      url: u.shownUrl,
      healthy: u.coolUntil <= now && u.retryAfterUntil <= now,
      failures: u.failures,
      coolingUntil: u.coolUntil > now ? u.coolUntil : 0,
      retryAfterUntil: u.retryAfterUntil > now ? u.retryAfterUntil : 0,
      lastError: u.lastError,
      lastErrorAt: u.lastError === undefined ? undefined : u.lastErrorAt,
    }));
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.urls.map((u) => u.pool.close()));
  }
}

/** Each endpoint label's URL without secrets, as the latest URL set for that provider configured it (for the request log). */
const shownUrls = new Map<string, string>();

/** The URL (without secrets) behind an x-understudy-endpoint label. */
export const endpointUrl = (label: string): string | undefined => shownUrls.get(label);

/** Endpoint labels whose provider (as the latest URL set for it configured it) has debug_connections: the admin page may show their requests' bodies. */
const debugLabels = new Set<string>();

export const endpointShowsBodies = (label: string): boolean => debugLabels.has(label);

export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join("[REDACTED]");
  return out;
}

interface Shared {
  set: UrlSet;
  refs: number;
}

const shared = new Map<string, Shared>();

/**
 * The UrlSet for a provider configuration, shared across registrations and config reloads
 * while the configuration is unchanged. Call the returned release once per acquire.
 */
export function acquireUrlSet(provider: Provider, options: UpstreamOptions): { set: UrlSet; release: () => Promise<void> } {
  const key = JSON.stringify([provider, options]);
  let entry = shared.get(key);
  if (!entry) {
    entry = { set: new UrlSet(provider, options), refs: 0 };
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
