/**
 * A protocol surface: what is specific to one API protocol (OpenAI's, Anthropic's Messages,
 * Sourcegraph's completions). Its handlers turn requests into the protocol-neutral inference call
 * (src/handlers/) and its results into responses and frames; its error methods are the one place
 * where an ApiError becomes that protocol's wire shape.
 */
import type { ApiError } from "../core/errors.js";
import type { SseFrame } from "../core/sse-frame.js";
import type { Handler } from "../handlers/types.js";

/** An error response as written before the first byte of the answer. */
export interface WireError {
  status: number;
  headers: Readonly<Record<string, string>>;
  contentType: string;
  body: string;
}

/** How a surface ends its streams and reports an error once a stream has begun (http/sse.ts). */
export interface StreamPolicy {
  /** An error after the first byte: the status is already sent, so it goes in band. */
  errorFrames(err: ApiError): readonly SseFrame[];
  /** Written after the last frame of a stream, also after in-band error frames (OpenAI: `data: [DONE]`). Absent: none. */
  readonly endOfStream?: SseFrame;
}

export interface Surface extends StreamPolicy {
  readonly name: string;
  /** operationId -> handler (each in a file named by its operationId). */
  readonly handlers: Readonly<Record<string, Handler>>;
  /** An error before the first byte, in this protocol's shape. */
  errorResponse(err: ApiError): WireError;
}
