/**
 * Anthropic's error payload, `{"type": "error", "error": {"type", "message"}}`, in a body or as a
 * stream's `event: error`. Its `type` is kept (invalid_request_error, not_found_error,
 * overloaded_error, ...): the status decides the mapping (upstream-client.ts), the type tells the
 * client which error it was.
 */
import { cleanErrorInfo, decodeErrorText, type Redact, type UpstreamErrorInfo } from "../../upstream-errors.js";

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" && v.length > 0 ? v : undefined);

/** The HTTP status Anthropic documents for each error type (for an error that arrives inside a stream). */
const STATUS_OF_TYPE: Readonly<Record<string, number>> = {
  invalid_request_error: 400,
  authentication_error: 401,
  permission_error: 403,
  not_found_error: 404,
  request_too_large: 413,
  rate_limit_error: 429,
  api_error: 500,
  overloaded_error: 529,
};

export function errorFields(o: Json): UpstreamErrorInfo | undefined {
  const e = o.error;
  if (typeof e !== "object" || e === null) return str(o.message) ? { message: String(o.message), type: str(o.type) } : undefined;
  const inner = e as Json;
  const type = str(inner.type);
  return { message: str(inner.message) ?? JSON.stringify(inner), type, status: type ? STATUS_OF_TYPE[type] : undefined };
}

export const parseErrorBody = (text: string, status: number, redact: Redact): UpstreamErrorInfo => decodeErrorText(text, status, redact, errorFields);

/** An error payload already parsed (a stream event, or a 2xx body that is one). */
export const errorInfoOf = (o: Json, redact: Redact): UpstreamErrorInfo => cleanErrorInfo(errorFields(o) ?? { message: "unknown upstream error" }, redact);

export const isErrorPayload = (o: Json): boolean => o.type === "error";

/** Anthropic's 529 (or a 5xx saying overloaded_error): retried, then a 503 rather than a 502. */
export const isOverloaded = (status: number, info: UpstreamErrorInfo): boolean => status === 529 || info.type === "overloaded_error";
