/**
 * The Prometheus metrics (`GET /metrics`, prom-client): the request metrics the HTTP layer records
 * once per request, and the TelemetrySink backends and config report to (core/telemetry.ts).
 * Labels are bounded: models are registered names (or "unknown"), keys are keys.yaml's names,
 * statuses are numbers, endpoints are configured URLs. The per-request series are fast-series.ts's,
 * their children cached per label set: a request costs a few map lookups and additions, no label object.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { LocalModelLoad, ReloadOutcome, TelemetrySink } from "../core/telemetry.js";
import { FastCounter, FastHistogram, type CounterChild, type HistogramChild } from "./fast-series.js";

/** Request latency buckets (seconds): a cached JSON answer in ~1 ms to a long generation. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Time to first token buckets (seconds), as vLLM's. */
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80];

/** The key label of a request let in without a key (an open server, public paths). */
export const NO_KEY = "none";
export const UNKNOWN_MODEL = "unknown";

/** A nested cache of label children: one map per label, so a lookup builds no string or object. */
class ChildCache<T> {
  private readonly root = new Map<string, unknown>();
  constructor(private readonly make: (values: string[]) => T) {}

  get(a: string, b: string, c?: string): T {
    let m1 = this.root.get(a) as Map<string, unknown> | undefined;
    if (m1 === undefined) this.root.set(a, (m1 = new Map()));
    if (c === undefined) {
      let child = m1.get(b) as T | undefined;
      if (child === undefined) m1.set(b, (child = this.make([a, b])));
      return child;
    }
    let m2 = m1.get(b) as Map<string, T> | undefined;
    if (m2 === undefined) m1.set(b, (m2 = new Map()));
    let child = m2.get(c);
    if (child === undefined) m2.set(c, (child = this.make([a, b, c])));
    return child;
  }
}

interface RequestSeries {
  count: CounterChild;
  latency: HistogramChild;
}

interface ModelKeySeries {
  ttft: HistogramChild;
  tokensIn: CounterChild;
  tokensOut: CounterChild;
}

export class PrometheusMetrics implements TelemetrySink {
  readonly registry = new Registry();
  private readonly requests: ChildCache<RequestSeries>;
  private readonly byModelKey: ChildCache<ModelKeySeries>;
  private readonly upstream = new Map<string, { errors: { inc(): void }; retries: { inc(): void }; cooldowns: { inc(): void } }>();
  private readonly reloads: Counter<"outcome">;
  private readonly localModels = new Map<string, Set<() => LocalModelLoad>>();
  private readonly upstreamCounters: { errors: Counter<"endpoint">; retries: Counter<"endpoint">; cooldowns: Counter<"endpoint"> };

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const r = this.registry;
    const byRequest = ["surface", "model", "status"];
    const requests = new FastCounter("understudy_requests_total", "Requests answered, by surface, model and HTTP status.", byRequest, r);
    const latency = new FastHistogram(
      "understudy_request_duration_seconds",
      "Time from receiving a request to the end of its response, by surface, model and HTTP status.",
      byRequest,
      r,
      LATENCY_BUCKETS,
    );
    this.requests = new ChildCache((v) => ({ count: requests.child(v), latency: latency.child(v) }));
    const byModelKey = ["model", "key"];
    const ttft = new FastHistogram(
      "understudy_time_to_first_token_seconds",
      "Streams: time from receiving the request to the first byte of the event stream, by model and API key name.",
      byModelKey,
      r,
      TTFT_BUCKETS,
    );
    const tokensIn = new FastCounter("understudy_prompt_tokens_total", "Prompt (input) tokens the answers reported, by model and API key name.", byModelKey, r);
    const tokensOut = new FastCounter(
      "understudy_generation_tokens_total",
      "Generated (output) tokens the answers reported, by model and API key name.",
      byModelKey,
      r,
    );
    this.byModelKey = new ChildCache((v) => ({ ttft: ttft.child(v), tokensIn: tokensIn.child(v), tokensOut: tokensOut.child(v) }));
    this.upstreamCounters = {
      errors: new Counter({
        name: "understudy_upstream_errors_total",
        help: "Failed upstream attempts (connection error, timeout, error status), by endpoint URL.",
        labelNames: ["endpoint"],
        registers,
      }),
      retries: new Counter({
        name: "understudy_upstream_retries_total",
        help: "Upstream attempts made after a failed one, by the endpoint URL retried on.",
        labelNames: ["endpoint"],
        registers,
      }),
      cooldowns: new Counter({
        name: "understudy_upstream_cooldowns_total",
        help: "Times an upstream endpoint was put in cooldown, by endpoint URL.",
        labelNames: ["endpoint"],
        registers,
      }),
    };
    this.reloads = new Counter({
      name: "understudy_config_reloads_total",
      help: "Config reloads by outcome: applied, unchanged (same revision), rejected (invalid; the last good config kept), deferred.",
      labelNames: ["outcome"],
      registers,
    });
    const localLoad = (pick: (l: LocalModelLoad) => number) =>
      function (this: Gauge<"model">, models: Map<string, Set<() => LocalModelLoad>>) {
        this.reset();
        for (const [model, sources] of models) {
          let total = 0;
          for (const load of sources) total += pick(load());
          this.set({ model }, total);
        }
      };
    const models = this.localModels;
    const queued = localLoad((l) => l.queued);
    const busy = localLoad((l) => l.busy);
    new Gauge({
      name: "understudy_local_queue_depth",
      help: "Requests waiting for a generation sequence, per loaded local model.",
      labelNames: ["model"],
      registers,
      collect() {
        queued.call(this, models);
      },
    });
    new Gauge({
      name: "understudy_local_busy_sequences",
      help: "Generation sequences busy now, per loaded local model.",
      labelNames: ["model"],
      registers,
      collect() {
        busy.call(this, models);
      },
    });
  }

  /**
   * One finished request (arguments, not an object: one allocation less per request). `ttftMs` is a
   * stream's time to its first byte, -1 otherwise; tokens are -1 when the answer reported none.
   */
  request(surface: string, model: string, status: number, key: string, latencyMs: number, ttftMs: number, tokensIn: number, tokensOut: number): void {
    const series = this.requests.get(surface, model, statusLabel(status));
    series.count.value++;
    series.latency.observe(latencyMs / 1000);
    if (ttftMs < 0 && tokensIn < 0 && tokensOut < 0) return;
    const mk = this.byModelKey.get(model, key);
    if (ttftMs >= 0) mk.ttft.observe(ttftMs / 1000);
    if (tokensIn > 0) mk.tokensIn.value += tokensIn;
    if (tokensOut > 0) mk.tokensOut.value += tokensOut;
  }

  private endpoint(url: string) {
    let e = this.upstream.get(url);
    if (e === undefined) {
      const c = this.upstreamCounters;
      e = { errors: c.errors.labels(url), retries: c.retries.labels(url), cooldowns: c.cooldowns.labels(url) };
      this.upstream.set(url, e);
    }
    return e;
  }

  upstreamError(endpoint: string): void {
    this.endpoint(endpoint).errors.inc();
  }

  upstreamRetry(endpoint: string): void {
    this.endpoint(endpoint).retries.inc();
  }

  upstreamCooldown(endpoint: string): void {
    this.endpoint(endpoint).cooldowns.inc();
  }

  configReload(outcome: ReloadOutcome): void {
    this.reloads.inc({ outcome });
  }

  localModel(name: string, load: () => LocalModelLoad): () => void {
    let sources = this.localModels.get(name);
    if (sources === undefined) this.localModels.set(name, (sources = new Set()));
    sources.add(load);
    const held = sources;
    return () => {
      held.delete(load);
      if (held.size === 0 && this.localModels.get(name) === held) this.localModels.delete(name);
    };
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() };
  }
}

/** Status labels are few: the numbers' strings, made once. */
const STATUS_LABELS: string[] = [];
function statusLabel(status: number): string {
  if (status < 100 || status > 599 || !Number.isInteger(status)) return "0";
  return (STATUS_LABELS[status] ??= String(status));
}

let instance: PrometheusMetrics | undefined;

/** The process's metrics (one registry per process: default process metrics are per process too). */
export function prometheusMetrics(): PrometheusMetrics {
  return (instance ??= new PrometheusMetrics());
}
