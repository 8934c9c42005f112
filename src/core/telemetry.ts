/**
 * What lower layers (backends, config) report for metrics, and each request's timing record. The
 * sink defaults to no-ops: backends and config never import the metrics implementation (src/metrics/),
 * which the server installs at start (setTelemetry).
 */

/** Live counts of a local model's generation slots, read when metrics are scraped. */
export interface LocalModelLoad {
  /** Requests waiting for a sequence. */
  readonly queued: number;
  /** Sequences generating now. */
  readonly busy: number;
}

/**
 * How a config reload ended: a new revision applied; the same revision (nothing changed); rejected
 * (invalid directory, the last good config kept); deferred (the directory kept changing under its checks).
 */
export type ReloadOutcome = "applied" | "unchanged" | "rejected" | "deferred";

export interface TelemetrySink {
  /** A failed upstream attempt (connection error, timeout, error status) at `endpoint` (the URL without secrets). */
  upstreamError(endpoint: string): void;
  /** Another attempt after a failed one, at `endpoint`. */
  upstreamRetry(endpoint: string): void;
  /** `endpoint` entered its cooldown. */
  upstreamCooldown(endpoint: string): void;
  /** A config reload ended: see ReloadOutcome. */
  configReload(outcome: ReloadOutcome): void;
  /** A loaded local model; the returned function is called when it unloads. */
  localModel(name: string, load: () => LocalModelLoad): () => void;
}

const noop = () => undefined;

const NO_TELEMETRY: TelemetrySink = {
  upstreamError: noop,
  upstreamRetry: noop,
  upstreamCooldown: noop,
  configReload: noop,
  localModel: () => noop,
};

let sink: TelemetrySink = NO_TELEMETRY;

/** The installed sink (no-ops until the server installs one). */
export const telemetry = (): TelemetrySink => sink;

export function setTelemetry(next: TelemetrySink): void {
  sink = next;
}

/**
 * One request's timing and attribution, filled as it passes through the layers and read once at its end
 * (the log line, the request metrics, `x-understudy-overhead-ms`). Times are `performance.now()` values.
 */
export class RequestTrace {
  /** The operation's surface (openai, anthropic, ...); undefined before an operation is known. */
  surface: string | undefined = undefined;
  operation: string | undefined = undefined;
  /** The model as the client named it. */
  model: string | undefined = undefined;
  /** The registration that served it and its backend kind (set by the inference pipeline). */
  registration: string | undefined = undefined;
  backend: string | undefined = undefined;
  /** Time spent awaiting the backend's answer (for a stream: its first chunk, as far as the handler waits). */
  backendMs = 0;
  /** Whether the answer is an event stream. */
  stream = false;
  /** The upstream endpoint that served (`<provider-id>#<index>`, the x-understudy-endpoint header). */
  upstream: string | undefined = undefined;
  /** When the handler answered (0: not yet or never). */
  handledAt = 0;
  /** When the status line and headers were written (0: not yet). */
  headAt = 0;
  /** Tokens the answer reported (-1: none reported). */
  tokensIn = -1;
  tokensOut = -1;
  /** Streams: the batches of frames usage is read from at the end (the first, the last two; see http/usage-tokens.ts). */
  firstBatch: readonly unknown[] | undefined = undefined;
  prevBatch: readonly unknown[] | undefined = undefined;
  lastBatch: readonly unknown[] | undefined = undefined;

  constructor(
    /** When the request listener got the request. */
    readonly startedAt: number,
    readonly requestId: string,
  ) {}
}
