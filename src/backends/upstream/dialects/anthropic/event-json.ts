/** One Anthropic stream event's data, parsed and checked: a JSON object, or an ApiError (an error event throws its error). */
import type { EventSourceMessage } from "eventsource-parser";
import { jsonNestsDeeperThan } from "../../../../core/json-depth.js";
import { UpstreamError } from "../../../../core/errors.js";
import { isRelayableEventName } from "../../../../core/sse-frame.js";
import type { DecodeContext } from "../../dialect.js";
import { MAX_UPSTREAM_JSON_DEPTH, tooDeep } from "../../response-limits.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoOf, isErrorPayload, parseErrorBody } from "./error-body.js";

type Json = Record<string, unknown>;

/** The event's data as an object; `event: error` (or data of type error) throws the error it carries. */
export function eventJson(event: EventSourceMessage, ctx: DecodeContext): Json {
  const { providerId } = ctx;
  if (event.event === "error") throw streamPayloadError(providerId, parseErrorBody(event.data, 502, ctx.redact));
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
  if (isErrorPayload(o)) throw streamPayloadError(providerId, errorInfoOf(o, ctx.redact));
  return o;
}

/**
 * The event's type: Anthropic names each event and repeats the name as the data's `type`. It
 * becomes the client's `event:` line, so a type that is not a plain name is the upstream's fault
 * (a 502), not a line break thrown by the SSE writer mid-stream.
 */
export function eventType(event: EventSourceMessage, data: Json, ctx: DecodeContext): string {
  const type = typeof data.type === "string" ? data.type : (event.event ?? "message");
  if (!isRelayableEventName(type))
    throw new UpstreamError(502, `${ctx.providerId}: the upstream sent an event whose type is not a name`, "upstream_protocol_error");
  return type;
}
