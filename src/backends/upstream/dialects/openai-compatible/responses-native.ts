/**
 * OpenAI's Responses API relayed as it is (BackendInstance.responses, provider `responses: native`):
 * the client's request goes upstream with only `model` replaced (by the profile's body rules, so
 * extensions are carried as for chat), the Response comes back with `model` set to the client's
 * name, and a stream as the upstream's own named events. Only the few lifecycle events that carry
 * a whole Response (created, in_progress, completed, ...) are re-serialized; the many deltas are
 * parsed once to be checked and relayed as the upstream's text.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { UpstreamError } from "../../../../core/errors.js";
import type { DecodeContext, Decoded, Json, StreamDecoder } from "../../dialect.js";
import { parseUpstreamObject } from "../../response-limits.js";
import { eventObject, relayedEventType, relayedFrame, type EventErrors } from "../../event-object.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoFromPayload, isErrorPayload, parseErrorBody } from "./error-body.js";

/** The provider setting `responses`: `native` relays /v1/responses upstream; `chat` (the default) serves it through chat. */
export const RESPONSES_MODES = ["native", "chat"] as const;
export const RESPONSES_PATH = "/responses";

/** Stream events whose `response` is a whole Response object (its `model` becomes the client's name). */
const CARRIES_RESPONSE = new Set([
  "response.created",
  "response.in_progress",
  "response.queued",
  "response.completed",
  "response.incomplete",
  "response.failed",
]);
/** Events after which the response is over (a `response.failed` is the protocol's own, relayed as it is). */
const FINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

const protocolError = (providerId: string, what: string) => new UpstreamError(502, `${providerId}: the upstream sent ${what}`, "upstream_protocol_error");

/** A Response, its `model` the client's name. A Response with status `failed` is one (its `error` field is not an error payload). */
export function decodeResponsesAnswer(text: string, ctx: DecodeContext): Decoded {
  const out = parseUpstreamObject(text, ctx.providerId);
  if (out.object !== "response") {
    if (isErrorPayload(out)) throw streamPayloadError(ctx.providerId, errorInfoFromPayload(out, ctx.redact));
    throw protocolError(ctx.providerId, "an answer that is not a Response object");
  }
  out.model = ctx.requestedModel;
  return out;
}

/** An event of type `error`, or an `{"error": ...}` payload, is an error. */
const RESPONSES_EVENT_ERRORS: EventErrors = {
  parseErrorBody,
  isErrorPayload: (o) => o.type === "error" || isErrorPayload(o),
  errorInfo: errorInfoFromPayload,
};

export class ResponsesStreamDecoder implements StreamDecoder {
  ended = false;
  complete = false;

  constructor(private readonly ctx: DecodeContext) {}

  decode(events: readonly EventSourceMessage[], out: Decoded[]): number {
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      // Some servers end every stream as chat does; OpenAI's Responses streams just stop.
      if (event.data === "[DONE]") {
        this.ended = true;
        return i + 1;
      }
      const data = eventObject(event, this.ctx, RESPONSES_EVENT_ERRORS);
      const type = relayedEventType(event, data, this.ctx);
      out.push(relayedFrame(type, event.data, data, CARRIES_RESPONSE.has(type) ? "response" : undefined, this.ctx.requestedModel));
      if (FINAL.has(type)) {
        this.complete = true;
        this.ended = true;
        return i + 1;
      }
    }
    return events.length;
  }
}
