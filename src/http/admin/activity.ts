/**
 * What the request log feeds the admin page at each request's end (request-log.ts recordRequest,
 * the same point as /metrics): the traffic buckets and the recent-requests ring. A few field writes
 * and additions per request; a body is kept only for providers with debug_connections.
 */
import { clipEcho } from "../../core/errors.js";
import type { RequestTrace } from "../../core/telemetry.js";
import { endpointShowsBodies } from "../../backends/upstream/url-set.js";
import type { LoadedConfig } from "../../config/loader.js";
import type { ActivityRecorder } from "../request-log.js";
import { MAX_BODY_CHARS, RecentRequests } from "./recent-requests.js";
import { Traffic } from "./traffic.js";

export class AdminActivity implements ActivityRecorder {
  readonly traffic = new Traffic(wallClock());
  readonly recent = new RecentRequests();
  private seen: LoadedConfig | undefined;
  private anyDebug = false;

  /** `config`: the live config (its providers say which have debug_connections). */
  constructor(private readonly config: () => LoadedConfig) {}

  /** Whether a request's body may be shown: some provider has debug_connections (one comparison per request; recomputed per config). */
  wantsBodies(): boolean {
    const config = this.config();
    if (config !== this.seen) {
      this.seen = config;
      this.anyDebug = config.providers.some((p) => p.debug_connections);
    }
    return this.anyDebug;
  }

  record(trace: RequestTrace, body: unknown, key: string | undefined, label: string, status: number, latencyMs: number, ttftMs: number, at: number): void {
    const now = wallClock(at);
    this.traffic.record(now, label, latencyMs, ttftMs, trace.tokensOut);
    const e = this.recent.claim();
    e.endedAt = now;
    e.requestId = trace.requestId;
    e.key = key;
    // The client's own name (cut: it may be 1 MB), else the label (no model named).
    e.model = trace.model === undefined ? label : clipEcho(trace.model);
    e.backend = trace.backend;
    e.operation = trace.operation;
    e.status = status;
    e.latencyMs = latencyMs;
    e.ttftMs = ttftMs;
    e.tokensIn = trace.tokensIn;
    e.tokensOut = trace.tokensOut;
    e.body = body !== undefined && trace.upstream !== undefined && endpointShowsBodies(trace.upstream) ? bodyText(body) : undefined;
  }
}

/**
 * Epoch ms of a performance.now() value: the request log's own clock reading, anchored at the
 * process's start, instead of a Date.now() per request (~75 ns on some VMs, half this recording's
 * cost). Both the recording and the reads use it, so buckets and "now" agree.
 */
const TIME_ORIGIN = performance.timeOrigin;
export const wallClock = (at = performance.now()) => TIME_ORIGIN + at;

function bodyText(body: unknown): string {
  return clipEcho(JSON.stringify(body) ?? "", MAX_BODY_CHARS);
}
