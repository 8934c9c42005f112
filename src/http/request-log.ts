/**
 * One record per request: the trace begun when the listener gets the request, and at its end (the
 * response's 'close') the request metrics and, at info level, one log line. At LOG_LEVEL=warn the
 * line costs one level check.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { clipEcho } from "../core/errors.js";
import { RequestTrace } from "../core/telemetry.js";
import type { SseFrame } from "../core/sse-frame.js";
import { endpointUrl } from "../backends/upstream/url-set.js";
import type { ModelIndex } from "../config/resolve.js";
import { NO_KEY, UNKNOWN_MODEL, type PrometheusMetrics } from "../metrics/prometheus.js";
import { apiKeyOf } from "./auth.js";
import { keepTrace, overheadMs, requestIdFor, traceOf } from "./request-id.js";
import { usageFromBody, usageFromStream } from "./usage-tokens.js";
import type { HandlerResult } from "../handlers/types.js";

/** Where a request's record goes. */
export interface RequestObserver {
  log: Logger;
  metrics: PrometheusMetrics;
  /** The live model index: a model label is a name it knows. */
  index(): ModelIndex;
  /** The admin page's traffic and recent requests (http/admin/activity.ts). */
  activity?: ActivityRecorder;
}

/** Takes each request's record at its end (the admin page's), with the metrics' model label. */
export interface ActivityRecorder {
  /** Whether request bodies are to be kept (some provider has debug_connections). */
  wantsBodies(): boolean;
  /** `at`: the performance.now() of the request's end. */
  record(trace: RequestTrace, body: unknown, key: string | undefined, label: string, status: number, latencyMs: number, ttftMs: number, at: number): void;
}

/** The surface label of a request no operation took (404s, /health, /metrics, refusals before routing). */
const NO_SURFACE = "none";
/** Client abort before any status was sent: nginx's "client closed request". */
const CLIENT_CLOSED = 499;

class HttpTrace extends RequestTrace {
  constructor(
    startedAt: number,
    requestId: string,
    readonly observer: RequestObserver,
  ) {
    super(startedAt, requestId);
  }
  /** The client's body, kept only while some provider has debug_connections (the admin page shows those). */
  body: unknown = undefined;
  /** Left out of the admin page's traffic and table (the admin page's own requests). */
  quiet = false;
}

/** Keeps the request out of the admin page's traffic and table (its own polling would swamp them); /metrics and the log still count it. */
export function quietActivity(res: ServerResponse): void {
  const trace = traceOf(res);
  if (trace instanceof HttpTrace) trace.quiet = true;
}

/** Begins the request's trace: its id (the client's `x-request-id` or a new one) and its end. */
export function beginRequest(req: IncomingMessage, res: ServerResponse, observer: RequestObserver): RequestTrace {
  const trace = new HttpTrace(performance.now(), requestIdFor(req.headers), observer);
  keepTrace(res, trace);
  // One shared listener (`this` is the response): no closure per request; 'close' is emitted once (`once` would wrap it).
  res.on("close", endRequest);
  return trace;
}

function endRequest(this: ServerResponse): void {
  const trace = traceOf(this) as HttpTrace | undefined;
  if (trace !== undefined) recordRequest(trace, this, performance.now());
}

/** The model label: a name the config knows (a registration's name, alias or ref), else the registration that served, else "unknown". */
function modelLabel(trace: RequestTrace, index: ModelIndex): string {
  const named = trace.model;
  if (named !== undefined && (index.byName.has(named) || index.byRef.has(named))) return named;
  return trace.registration ?? UNKNOWN_MODEL;
}

const rounded = (ms: number) => Math.round(ms * 1000) / 1000;

function recordRequest(trace: HttpTrace, res: ServerResponse, now: number): void {
  const { observer } = trace;
  const status = res.headersSent ? res.statusCode : CLIENT_CLOSED;
  const latencyMs = now - trace.startedAt;
  if (trace.stream) usageFromStream(trace);
  const ttftMs = trace.stream && trace.headAt > 0 ? trace.headAt - trace.startedAt : -1;
  const key = apiKeyOf(res)?.name;
  const model = trace.surface === undefined && trace.model === undefined ? UNKNOWN_MODEL : modelLabel(trace, observer.index());
  observer.metrics.request(trace.surface ?? NO_SURFACE, model, status, key ?? NO_KEY, latencyMs, ttftMs, trace.tokensIn, trace.tokensOut);
  if (observer.activity !== undefined && !trace.quiet) observer.activity.record(trace, trace.body, key, model, status, latencyMs, ttftMs, now);
  const log = observer.log;
  if (!log.isLevelEnabled("info")) return;
  const line: Record<string, unknown> = { request_id: trace.requestId, status, latency_ms: rounded(latencyMs) };
  if (key !== undefined) line.key = key;
  if (trace.surface !== undefined) line.surface = trace.surface;
  if (trace.operation !== undefined) line.operation = trace.operation;
  if (trace.model !== undefined) line.model = clipEcho(trace.model);
  if (trace.backend !== undefined) line.backend = trace.backend;
  if (trace.registration !== undefined) line.registration = trace.registration;
  if (trace.upstream !== undefined) {
    line.upstream = trace.upstream;
    const url = endpointUrl(trace.upstream);
    if (url !== undefined) line.upstream_url = url;
  }
  if (ttftMs >= 0) line.ttft_ms = rounded(ttftMs);
  if (trace.headAt > 0) line.overhead_ms = overheadMs(trace, trace.headAt);
  if (trace.tokensIn >= 0) line.tokens_in = trace.tokensIn;
  if (trace.tokensOut >= 0) line.tokens_out = trace.tokensOut;
  if (status === CLIENT_CLOSED || (res.headersSent && !res.writableFinished)) line.aborted = true;
  log.info(line, "request");
}

/**
 * A stream's batch as the SSE writer writes it: the first batch and the last two are kept on the
 * trace for the usage they may report (usage-tokens.ts). Called by the writer's own loop, so a
 * stream pays one call per batch and no extra promise step.
 */
export function keepUsageBatch(trace: RequestTrace, batch: readonly SseFrame[]): void {
  if (trace.firstBatch === undefined) trace.firstBatch = batch;
  else {
    trace.prevBatch = trace.lastBatch;
    trace.lastBatch = batch;
  }
}

/** The operation a request runs: its surface, its name, and the model the body names. */
export function traceOperation(trace: RequestTrace, surface: string, operation: string, body: unknown): void {
  trace.surface = surface;
  trace.operation = operation;
  if (trace instanceof HttpTrace && trace.observer.activity?.wantsBodies() === true) trace.body = body;
  const model = (body as { model?: unknown } | undefined)?.model;
  if (typeof model === "string") trace.model = model;
}

/** The handler's answer: when it came, and a JSON answer's usage (a stream's is kept by the SSE writer: keepUsageBatch). */
export function traceAnswer(trace: RequestTrace, result: HandlerResult): HandlerResult {
  trace.handledAt = performance.now();
  if (result.kind === "json") {
    usageFromBody(result.body, trace);
    return result;
  }
  trace.stream = true;
  return result;
}
