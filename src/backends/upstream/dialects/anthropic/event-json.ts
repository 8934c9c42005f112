/** One Anthropic stream event's data, parsed and checked: a JSON object, or an ApiError (an error event throws its error). */
import type { EventSourceMessage } from "eventsource-parser";
import type { DecodeContext } from "../../dialect.js";
import { eventObject, relayedEventType, type EventErrors } from "../../event-object.js";
import { errorInfoOf, isErrorPayload, parseErrorBody } from "./error-body.js";

type Json = Record<string, unknown>;

const ANTHROPIC_EVENT_ERRORS: EventErrors = { parseErrorBody, isErrorPayload, errorInfo: errorInfoOf };

/** The event's data as an object; `event: error` (or data of type error) throws the error it carries. */
export const eventJson = (event: EventSourceMessage, ctx: DecodeContext): Json => eventObject(event, ctx, ANTHROPIC_EVENT_ERRORS);

/** The event's type: Anthropic names each event and repeats the name as the data's `type` (an unnamed event is a `message`). */
export const eventType = (event: EventSourceMessage, data: Json, ctx: DecodeContext): string => relayedEventType(event, data, ctx, "message");
