/**
 * Sourcegraph's errors as Cody clients read them: before the answer, a plain-text body (the
 * message) with the status and its headers (429's `Retry-After`); once a stream has begun, an
 * `error` event `{"error": "<model>: <message>"}`, and every stream ends with `event: done`.
 */
import { ApiError, errorHeaders } from "../../core/errors.js";
import type { SseFrame } from "../../core/sse-frame.js";
import type { WireError } from "../types.js";
import { inClientTerms } from "../param-names.js";

const TEXT_CONTENT_TYPE = "text/plain; charset=utf-8";

export const DONE_FRAME: SseFrame = { event: "done", data: {} };

export function sourcegraphErrorResponse(err: ApiError): WireError {
  return { status: err.status, headers: errorHeaders(err), contentType: TEXT_CONTENT_TYPE, body: err.message };
}

/** An error that names what failed (the model), as Sourcegraph prefixes its provider's errors. */
export class NamedError extends ApiError {
  constructor(
    readonly source: string,
    cause: ApiError,
  ) {
    super(cause.status, cause.type, cause.message, cause.param, cause.code, cause.headers);
  }
}

export function sourcegraphErrorFrames(err: ApiError): SseFrame[] {
  const error = err instanceof NamedError ? `${err.source}: ${err.message}` : err.message;
  return [{ event: "error", data: { error } }];
}

/** Chat (and Messages) fields the translation writes -> the Sourcegraph fields they came from. */
const SOURCEGRAPH_PARAM: Readonly<Record<string, string>> = {
  max_tokens: "maxTokensToSample",
  stop: "stopSequences",
  top_p: "topP",
  "x-localai-extensions.top_k": "topK",
  // The same fields in a Messages request (an anthropic upstream spoken natively).
  stop_sequences: "stopSequences",
  top_k: "topK",
};

/** A backend's error about a chat field, said in terms of the Sourcegraph field the client sent. */
export const inSourcegraphTerms = (err: unknown): unknown => inClientTerms(err, SOURCEGRAPH_PARAM);
