import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";
import type { Services } from "../services.js";
import type { ClientDisconnect } from "../core/client-disconnect.js";
import type { SseFrame } from "../core/sse-frame.js";
import type { ApiKey } from "../core/api-key.js";
import type { RequestTrace } from "../core/telemetry.js";

/** What a handler receives: no express objects, so handlers stay testable and transport-free. */
export interface HandlerCall {
  operationId: string;
  /**
   * The body exactly as the client sent it, parsed once and validated. The validator adds nothing
   * (the validation subset has no `default`s), so this is what the defaults merge starts from.
   */
  body: any;
  params: Record<string, string>;
  query: Record<string, unknown>;
  /** The client's request headers (node's lower-cased form), for a surface's protocol headers. */
  headers: Readonly<IncomingHttpHeaders>;
  /** Aborts the call's work when the client disconnects. */
  client: ClientDisconnect;
  requestId: string;
  /** The API key the request was let in with (keys.yaml); undefined on an open server. For allow-lists, limits and logs. */
  key: ApiKey | undefined;
  /** The request's timing and attribution record (request log, metrics, overhead header); absent in direct handler calls. */
  trace?: RequestTrace;
  services: Services;
  log: Logger;
}

/**
 * What a surface's handler answers. A stream is frames in its protocol's shape; the SSE writer
 * (http/sse.ts) adds the surface's end-of-stream frame and writes a late error as its in-band
 * frames. Frames are taken a batch at a time when the iterable offers batches (core/async-queue.ts).
 */
export type HandlerResult =
  | { kind: "json"; body: unknown; status?: number; headers?: Record<string, string> }
  | { kind: "stream"; frames: AsyncIterable<SseFrame>; headers?: Record<string, string>; onEnd?: () => void };

export type Handler = (call: HandlerCall) => Promise<HandlerResult>;

export const json = (body: unknown, headers?: Record<string, string>): HandlerResult => ({ kind: "json", body, headers });
