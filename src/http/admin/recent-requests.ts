/**
 * The admin page's table of the last RECENT_REQUESTS requests: a ring of preallocated entries whose
 * fields are overwritten in place, so recording a request allocates nothing. Times, ISO strings and
 * nulls are made only when GET /admin/api/requests reads the ring.
 */
import type { RecentRequestJson } from "./admin-json.js";

/** Requests the table keeps, newest replacing oldest. */
export const RECENT_REQUESTS = 200;
/** Longest request body shown (debug_connections providers only): the JSON text is cut here. */
export const MAX_BODY_CHARS = 8192;

/** What the request log knows at a request's end (request-log.ts); -1: not measured or not reported. */
export interface RequestRecord {
  /** Epoch ms at the response's end. */
  endedAt: number;
  requestId: string;
  key: string | undefined;
  model: string;
  backend: string | undefined;
  operation: string | undefined;
  status: number;
  latencyMs: number;
  ttftMs: number;
  tokensIn: number;
  tokensOut: number;
  /** The client's body as JSON text (already cut to MAX_BODY_CHARS), for debug_connections providers only. */
  body: string | undefined;
}

const blank = (): RequestRecord => ({
  endedAt: 0,
  requestId: "",
  key: undefined,
  model: "",
  backend: undefined,
  operation: undefined,
  status: 0,
  latencyMs: 0,
  ttftMs: -1,
  tokensIn: -1,
  tokensOut: -1,
  body: undefined,
});

const ms = (value: number) => Math.round(value * 1000) / 1000;
const orNull = (value: number) => (value >= 0 ? value : null);

export class RecentRequests {
  private readonly ring: RequestRecord[] = Array.from({ length: RECENT_REQUESTS }, blank);
  private next = 0;
  private count = 0;

  /** The entry to fill for the next request (the oldest, overwritten). Fill every field. */
  claim(): RequestRecord {
    const entry = this.ring[this.next];
    this.next = this.next + 1 === RECENT_REQUESTS ? 0 : this.next + 1;
    if (this.count < RECENT_REQUESTS) this.count++;
    return entry;
  }

  /** Newest first. */
  read(): RecentRequestJson[] {
    const out: RecentRequestJson[] = [];
    for (let i = 1; i <= this.count; i++) {
      const e = this.ring[(this.next - i + RECENT_REQUESTS) % RECENT_REQUESTS];
      const row: RecentRequestJson = {
        time: new Date(Math.round(e.endedAt - e.latencyMs)).toISOString(),
        request_id: e.requestId,
        key: e.key ?? null,
        model: e.model,
        backend: e.backend ?? null,
        operation: e.operation ?? null,
        status: e.status,
        latency_ms: ms(e.latencyMs),
        ttft_ms: e.ttftMs >= 0 ? ms(e.ttftMs) : null,
        tokens_in: orNull(e.tokensIn),
        tokens_out: orNull(e.tokensOut),
      };
      if (e.body !== undefined) row.body = e.body;
      out.push(row);
    }
    return out;
  }
}
