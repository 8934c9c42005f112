/** One Anthropic stream event's data, parsed and checked: a JSON object, or an ApiError (an error event throws its error). */
import type { EventSourceMessage } from "eventsource-parser";
import { UpstreamError } from "../../../../core/errors.js";
import { isRelayableEventName } from "../../../../core/sse-frame.js";
import type { DecodeContext } from "../../dialect.js";
import { eventObject, type EventErrors } from "../../event-object.js";
import { errorInfoOf, isErrorPayload, parseErrorBody } from "./error-body.js";

type Json = Record<string, unknown>;

const ANTHROPIC_EVENT_ERRORS: EventErrors = { parseErrorBody, isErrorPayload, errorInfo: errorInfoOf };

/** The event's data as an object; `event: error` (or data of type error) throws the error it carries. */
export const eventJson = (event: EventSourceMessage, ctx: DecodeContext): Json => eventObject(event, ctx, ANTHROPIC_EVENT_ERRORS);

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
