/** OpenAI's error shape: `{"error":{message,type,param,code}}`, as a response and as an in-band frame. */
import { errorHeaders, type ApiError } from "../../core/errors.js";
import type { SseFrame } from "../../core/sse-frame.js";
import type { WireError } from "../types.js";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function openAiErrorResponse(err: ApiError): WireError {
  return { status: err.status, headers: errorHeaders(err), contentType: JSON_CONTENT_TYPE, body: JSON.stringify(err.toBody()) };
}

/** After the first byte: one `data: {"error":...}` frame (the stream then ends with `[DONE]`, as OpenAI's do). */
export function openAiErrorFrames(err: ApiError): SseFrame[] {
  return [{ data: err.toBody() }];
}
