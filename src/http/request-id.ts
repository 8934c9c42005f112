/**
 * Request ids (`req_` and 32 hex digits, as OpenAI's, or the client's own `x-request-id`), and how the
 * fast path sends them; `x-understudy-overhead-ms`, added where the status line is written.
 */
import { randomFillSync } from "node:crypto";
import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { RequestTrace } from "../core/telemetry.js";

/**
 * Random bytes are taken from a pool filled 4 KB at a time: one `toString("hex")` per id instead of a
 * UUID's formatting and five slices (about 1.5 µs less per request, measured under wrk -c1).
 */
const ID_BYTES = 16;
const pool = Buffer.alloc(ID_BYTES * 256);
let offset = pool.length;

export function newRequestId(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString("hex", offset, offset + ID_BYTES);
  offset += ID_BYTES;
  return `req_${id}`;
}

/**
 * The longest `x-request-id` a client may send that is used as the request's id (and echoed, logged);
 * a longer one, or one with other characters than [A-Za-z0-9._-], is replaced by a new id. Bounded
 * so a client cannot put arbitrary text into log lines and response headers.
 */
export const MAX_CLIENT_REQUEST_ID_CHARS = 128;
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]+$/;

/** The client's `x-request-id` when it is acceptable, else a new id. */
export function requestIdFor(headers: IncomingHttpHeaders): string {
  const given = headers["x-request-id"];
  if (typeof given === "string" && given.length > 0 && given.length <= MAX_CLIENT_REQUEST_ID_CHARS && CLIENT_REQUEST_ID.test(given)) return given;
  return newRequestId();
}

const REQUEST_ID = Symbol("understudy.requestId");
const TRACE = Symbol("understudy.trace");
type Tagged = ServerResponse & { [REQUEST_ID]?: string; [TRACE]?: RequestTrace };

/** Keeps the request's trace on its response (the listener does, before either layer runs). */
export function keepTrace(res: ServerResponse, trace: RequestTrace): void {
  (res as Tagged)[TRACE] = trace;
}

export function traceOf(res: ServerResponse): RequestTrace | undefined {
  return (res as Tagged)[TRACE];
}

/** The request's id: its trace's (the client's or a new one), or a new one for a response without a trace. */
export function requestIdOf(res: ServerResponse): string {
  return (res as Tagged)[TRACE]?.requestId ?? newRequestId();
}

export const OVERHEAD_HEADER = "x-understudy-overhead-ms";
const ENDPOINT_HEADER = "x-understudy-endpoint";

/**
 * The time spent in Understudy itself up to `now` (the status line): the time since the request
 * arrived less the time awaiting the backend; for a stream, less also the wait from the handler's
 * answer to its first frame (the writer waits on the backend then). Microseconds kept.
 */
export function overheadMs(trace: RequestTrace, now: number): number {
  const until = trace.stream && trace.handledAt > 0 ? trace.handledAt : now;
  const ms = until - trace.startedAt - trace.backendMs;
  return ms > 0 ? Math.round(ms * 1000) / 1000 : 0;
}

/**
 * The fast path's way to send `x-request-id`: kept on the response and added by `writeHead` below.
 * A header set with `res.setHeader` before `writeHead(status, headers)` sends Node down writeHead's
 * slow path, which re-validates every header one `setHeader` at a time (about 2.5 µs per request).
 */
export function keepRequestId(res: ServerResponse, id: string): void {
  (res as Tagged)[REQUEST_ID] = id;
}

/** `res.writeHead`, with the kept request id added to `headers` (which it may modify). */
export function writeHead(res: ServerResponse, status: number, headers: Record<string, string | number>): void {
  const id = (res as Tagged)[REQUEST_ID];
  if (id !== undefined) headers["x-request-id"] = id;
  const trace = (res as Tagged)[TRACE];
  if (trace !== undefined) {
    const now = performance.now();
    trace.headAt = now;
    headers[OVERHEAD_HEADER] = overheadMs(trace, now);
    const endpoint = headers[ENDPOINT_HEADER];
    if (typeof endpoint === "string") trace.upstream = endpoint;
  }
  res.writeHead(status, headers);
}
