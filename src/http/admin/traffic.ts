/**
 * The admin page's traffic charts: one-second buckets per model label (the /metrics `model` label),
 * the last TRAFFIC_BUCKETS seconds. Recording is a bucket lookup and a few additions (latencies go
 * to a small fixed log-scale histogram, so no sample is kept or sorted per request); buckets are
 * rotated lazily when a request lands in a new second, and quantiles are computed only when
 * GET /admin/api/traffic reads them.
 */
import type { TrafficJson, TrafficModelJson } from "./admin-json.js";

/** Seconds of traffic kept: five minutes of one-second buckets. */
export const TRAFFIC_BUCKETS = 300;
export const BUCKET_MS = 1000;

/** Latency histogram: bin 0 holds up to HIST_MIN_MS, bin i up to HIST_MIN_MS × HIST_RATIO^i (±10% at the bin's middle), the last bin the rest. */
const HIST_MIN_MS = 0.1;
const HIST_RATIO = 1.2;
const LOG_RATIO = Math.log(HIST_RATIO);
/** Bins up to an hour: ceil(log(3.6e6 / 0.1) / log(1.2)) + 1. */
const HIST_BINS = Math.ceil(Math.log(3_600_000 / HIST_MIN_MS) / LOG_RATIO) + 1;

function binOf(ms: number): number {
  if (!(ms > HIST_MIN_MS)) return 0;
  const i = Math.ceil(Math.log(ms / HIST_MIN_MS) / LOG_RATIO);
  return i < HIST_BINS ? i : HIST_BINS - 1;
}

/** A bin's representative value: the geometric middle of its range. */
const binValue = (i: number) => (i === 0 ? HIST_MIN_MS : HIST_MIN_MS * HIST_RATIO ** (i - 0.5));

/** The q-quantile (0..1) of `n` values counted in `bins`, in ms rounded to µs. */
function quantile(bins: Uint32Array, n: number, q: number): number {
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < bins.length; i++) {
    seen += bins[i];
    if (seen >= rank) return Math.round(binValue(i) * 1000) / 1000;
  }
  return Math.round(binValue(bins.length - 1) * 1000) / 1000;
}

class ModelSecond {
  requests = 0;
  tokensOut = 0;
  streams = 0;
  readonly latency = new Uint32Array(HIST_BINS);
  /** Made on the first stream: most models' seconds have none. */
  ttft: Uint32Array | undefined = undefined;

  reset(): void {
    this.requests = 0;
    this.tokensOut = 0;
    this.streams = 0;
    this.latency.fill(0);
    this.ttft?.fill(0);
  }
}

class Bucket {
  /** The second (epoch ms / BUCKET_MS) the bucket holds; -1: never used. */
  second = -1;
  readonly models = new Map<string, ModelSecond>();

  /** Takes the bucket over for `second`: entries used last time are zeroed and kept, unused ones dropped (a model no longer served). */
  rotate(second: number): void {
    this.second = second;
    for (const [label, stats] of this.models) {
      if (stats.requests === 0) this.models.delete(label);
      else stats.reset();
    }
  }
}

export class Traffic {
  private readonly buckets: Bucket[] = Array.from({ length: TRAFFIC_BUCKETS }, () => new Bucket());
  private readonly firstSecond: number;

  /** Times are epoch ms (activity.ts wallClock). */
  constructor(now: number) {
    this.firstSecond = Math.floor(now / BUCKET_MS);
  }

  /** One request's end: `ttftMs` < 0 when it was no stream, `tokensOut` < 0 when none were reported. */
  record(nowMs: number, label: string, latencyMs: number, ttftMs: number, tokensOut: number): void {
    const second = Math.floor(nowMs / BUCKET_MS);
    const bucket = this.buckets[second % TRAFFIC_BUCKETS];
    if (bucket.second !== second) bucket.rotate(second);
    let stats = bucket.models.get(label);
    if (stats === undefined) bucket.models.set(label, (stats = new ModelSecond()));
    stats.requests++;
    stats.latency[binOf(latencyMs)]++;
    if (tokensOut > 0) stats.tokensOut += tokensOut;
    if (ttftMs >= 0) {
      stats.streams++;
      (stats.ttft ??= new Uint32Array(HIST_BINS))[binOf(ttftMs)]++;
    }
  }

  /** The complete seconds since start (at most TRAFFIC_BUCKETS), oldest first; a second without requests has `models: {}`. */
  read(nowMs: number): TrafficJson {
    const current = Math.floor(nowMs / BUCKET_MS);
    const from = Math.max(this.firstSecond, current - TRAFFIC_BUCKETS);
    const samples: TrafficJson["samples"] = [];
    for (let second = from; second < current; second++) {
      const bucket = this.buckets[second % TRAFFIC_BUCKETS];
      // No prototype: a model may be named __proto__.
      const models = Object.create(null) as Record<string, TrafficModelJson>;
      if (bucket.second === second) {
        for (const [label, s] of bucket.models) if (s.requests > 0) models[label] = modelJson(s);
      }
      samples.push({ t: second * BUCKET_MS, models });
    }
    return { interval_ms: BUCKET_MS, now: nowMs, samples };
  }
}

function modelJson(s: ModelSecond): TrafficModelJson {
  const perSecond = 1000 / BUCKET_MS;
  return {
    requests: s.requests,
    rps: s.requests * perSecond,
    p50_ms: quantile(s.latency, s.requests, 0.5),
    p99_ms: quantile(s.latency, s.requests, 0.99),
    ttft_p50_ms: s.ttft === undefined || s.streams === 0 ? null : quantile(s.ttft, s.streams, 0.5),
    tokens_per_s: s.tokensOut * perSecond,
  };
}
