/**
 * Anthropic's error shape, `{"type":"error","error":{"type","message"}}`, with Anthropic's statuses,
 * as a response and as an in-band `event: error`. The type follows the status (Anthropic's clients,
 * @anthropic-ai/sdk among them, pick their error class by status).
 */
import { errorHeaders, type ApiError } from "../../core/errors.js";
import type { SseFrame } from "../../core/sse-frame.js";
import type { WireError } from "../types.js";

const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Anthropic's error types by status; other 4xx are `invalid_request_error`, other 5xx `api_error`. */
const TYPE_BY_STATUS: Readonly<Record<number, string>> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** Our 503s (busy, unavailable: try again later) are what Anthropic calls overloaded, 529, which its clients retry. */
const OVERLOADED_STATUS = 529;

export interface AnthropicErrorBody {
  type: "error";
  error: { type: string; message: string };
}

export function anthropicStatus(err: ApiError): number {
  return err.status === 503 ? OVERLOADED_STATUS : err.status;
}

export function anthropicErrorBody(err: ApiError): AnthropicErrorBody {
  const status = anthropicStatus(err);
  const type = TYPE_BY_STATUS[status] ?? (status < 500 ? "invalid_request_error" : "api_error");
  return { type: "error", error: { type, message: err.message } };
}

export function anthropicErrorResponse(err: ApiError): WireError {
  return { status: anthropicStatus(err), headers: errorHeaders(err), contentType: JSON_CONTENT_TYPE, body: JSON.stringify(anthropicErrorBody(err)) };
}

/** After the first byte: one `event: error` frame, and nothing after it (Anthropic's streams have no end marker). */
export function anthropicErrorFrames(err: ApiError): SseFrame[] {
  return [{ event: "error", data: anthropicErrorBody(err) }];
}
