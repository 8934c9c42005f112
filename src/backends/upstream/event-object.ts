/**
 * One upstream stream event's data, parsed and checked, for the dialects that relay named events
 * (Anthropic's Messages API, OpenAI's Responses API): a JSON object, or an ApiError when the event
 * carries an error (`event: error`, or a payload the dialect reads as one).
 */
import type { EventSourceMessage } from "eventsource-parser";
import { jsonNestsDeeperThan } from "../../core/json-depth.js";
import { UpstreamError } from "../../core/errors.js";
import { SerializedJson } from "../../core/serialized-json.js";
import { isRelayableEventName, type SseFrame } from "../../core/sse-frame.js";
import type { DecodeContext, Json } from "./dialect.js";
import { MAX_UPSTREAM_JSON_DEPTH, tooDeep } from "./response-limits.js";
import { streamPayloadError, type Redact, type UpstreamErrorInfo } from "./upstream-errors.js";

/** How a dialect reads the errors in its event stream. */
export interface EventErrors {
  /** The data of an `event: error`. */
  parseErrorBody(text: string, status: number, redact: Redact): UpstreamErrorInfo;
  /** Whether an event's object is an error payload. */
  isErrorPayload(o: Json): boolean;
  errorInfo(o: Json, redact: Redact): UpstreamErrorInfo;
}

export function eventObject(event: EventSourceMessage, ctx: DecodeContext, errors: EventErrors): Json {
  const { providerId } = ctx;
  if (event.event === "error") throw streamPayloadError(providerId, errors.parseErrorBody(event.data, 502, ctx.redact));
  // Before the parse: a relayed event may be serialized again, and JSON.stringify recurses.
  if (jsonNestsDeeperThan(event.data, MAX_UPSTREAM_JSON_DEPTH)) throw tooDeep(providerId);
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch {
    throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not JSON`, "upstream_protocol_error");
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not a JSON object`, "upstream_protocol_error");
  }
  const o = data as Json;
  if (errors.isErrorPayload(o)) throw streamPayloadError(providerId, errors.errorInfo(o, ctx.redact));
  return o;
}

/**
 * The event's type: its data's `type` (Anthropic's and the Responses API's events repeat their name
 * there), else its `event:` name, else `fallback`. It becomes the client's `event:` line, so a type
 * that is not a plain name is the upstream's fault (a 502), never a line break thrown by the SSE
 * writer mid-stream.
 */
export function relayedEventType(event: EventSourceMessage, data: Json, ctx: DecodeContext, fallback?: string): string {
  const type = typeof data.type === "string" ? data.type : (event.event ?? fallback);
  if (type === undefined || !isRelayableEventName(type)) {
    throw new UpstreamError(502, `${ctx.providerId}: the upstream sent an event without a valid type`, "upstream_protocol_error");
  }
  return type;
}

/**
 * The relayed frame: the upstream's own text, or, for an event whose `field` holds a whole object
 * (Anthropic's message_start `message`, the Responses API's lifecycle `response`), the event
 * re-serialized with that object's `model` the client's name. `field` undefined: relayed as it is.
 */
export function relayedFrame(type: string, text: string, data: Json, field: string | undefined, requestedModel: string): SseFrame {
  const inner = field === undefined ? undefined : data[field];
  if (typeof inner !== "object" || inner === null) return { event: type, data: new SerializedJson(text) };
  return { event: type, data: { ...data, [field!]: { ...(inner as Json), model: requestedModel } } };
}
