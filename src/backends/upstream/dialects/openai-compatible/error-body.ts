/**
 * The error payloads OpenAI-compatible servers send, in a body or as a stream event. They do not
 * agree on one shape, so each known variant is read; the shared module cleans what is found.
 */
import { cleanErrorInfo, decodeErrorText, type Redact, type UpstreamErrorInfo } from "../../upstream-errors.js";

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" && v.length > 0 ? v : undefined);

export function errorFields(o: Json): UpstreamErrorInfo | undefined {
  const e = o.error;
  // OpenAI, Ollama, llama-server, recent vLLM: {"error": {message, type, param, code}}
  if (typeof e === "object" && e !== null) {
    const inner = e as Json;
    const numeric = typeof inner.code === "number" ? inner.code : typeof inner.status === "number" ? inner.status : undefined;
    return { message: str(inner.message) ?? JSON.stringify(inner), type: str(inner.type), param: str(inner.param), code: str(inner.code), status: numeric };
  }
  // TGI: {"error": "...", "error_type": "validation"}
  if (typeof e === "string") return { message: e, type: str(o.error_type) };
  // Old vLLM: {"object": "error", message, type, param, code}; FastAPI: {"detail": ...}
  if (o.object === "error" || str(o.message)) {
    return {
      message: str(o.message) ?? "error",
      type: str(o.type),
      param: str(o.param),
      code: str(o.code),
      status: typeof o.code === "number" ? o.code : undefined,
    };
  }
  if (o.detail !== undefined) return { message: typeof o.detail === "string" ? o.detail : JSON.stringify(o.detail) };
  return undefined;
}

/** Reads an error out of a response body in any of the variants above. */
export const parseErrorBody = (text: string, status: number, redact: Redact): UpstreamErrorInfo => decodeErrorText(text, status, redact, errorFields);

/** True when a parsed stream event or body is an error payload rather than an answer. */
export function isErrorPayload(o: Json): boolean {
  return (o.error !== undefined && o.error !== null) || o.object === "error";
}

/** `o` was checked for depth before it was parsed. */
export function errorInfoFromPayload(o: Json, redact: Redact): UpstreamErrorInfo {
  return cleanErrorInfo(errorFields(o) ?? { message: "unknown upstream error" }, redact);
}
