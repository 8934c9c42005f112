/**
 * The Responses API's errors: before the first byte OpenAI's `{"error":{...}}`; once a stream has
 * begun, the surface's own frames say a failure as response.failed (event-stream.ts), and this
 * `error` event (the spec's ResponseErrorEvent) is the fallback for anything raised outside them.
 */
import type { ApiError } from "../../core/errors.js";
import type { SseFrame } from "../../core/sse-frame.js";

export { openAiErrorResponse as responsesErrorResponse } from "../openai/errors.js";

/** The writer knows no sequence number here; the stream ends right after, so nothing can follow it out of order. */
export function responsesErrorFrames(err: ApiError): SseFrame[] {
  return [{ event: "error", data: { type: "error", code: err.code, message: err.message, param: err.param, sequence_number: 0 } }];
}
