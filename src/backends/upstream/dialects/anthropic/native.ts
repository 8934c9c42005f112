/**
 * The Messages API relayed as it is (BackendInstance.messages, countMessageTokens): the client's
 * request goes upstream with only `model` replaced, so cache_control, thinking and block types
 * this server does not know survive; the answer comes back with `model` set to the client's name,
 * a stream as the upstream's own named events.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { relayUnparsed } from "../../../../core/serialized-json.js";
import type { DecodeContext, Decoded, StreamDecoder } from "../../dialect.js";
import { MAX_UPSTREAM_JSON_DEPTH, parseUpstreamObject } from "../../response-limits.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoOf, isErrorPayload } from "./error-body.js";
import { eventJson, eventType } from "./event-json.js";
import { relayedFrame } from "../../event-object.js";

type Json = Record<string, unknown>;

export const encodeNative = (request: Readonly<Json>, upstreamModel: string): string => JSON.stringify({ ...request, model: upstreamModel });

/** A Message (model replaced) or a token count, as JSON text or a checked object. */
export function decodeNative(text: string, ctx: DecodeContext, replaceModel: boolean): Decoded {
  if (replaceModel) {
    const relayed = relayUnparsed(text, ctx.requestedModel, MAX_UPSTREAM_JSON_DEPTH);
    if (relayed) return relayed;
  }
  const out = parseUpstreamObject(text, ctx.providerId);
  if (isErrorPayload(out)) throw streamPayloadError(ctx.providerId, errorInfoOf(out, ctx.redact));
  if (replaceModel) out.model = ctx.requestedModel;
  return out;
}

/**
 * Each event becomes the same named frame; only message_start is re-serialized (its message's
 * model becomes the client's name). Every event is parsed once, so nothing that is not a JSON
 * object reaches the client, and an error event throws (the surface writes it in-band).
 */
export class NativeStreamDecoder implements StreamDecoder {
  ended = false;
  complete = false;

  constructor(private readonly ctx: DecodeContext) {}

  decode(events: readonly EventSourceMessage[], out: Decoded[]): number {
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const data = eventJson(event, this.ctx);
      const type = eventType(event, data, this.ctx);
      out.push(relayedFrame(type, event.data, data, type === "message_start" ? "message" : undefined, this.ctx.requestedModel));
      if (type === "message_delta") this.complete = true;
      if (type === "message_stop") {
        this.ended = true;
        return i + 1;
      }
    }
    return events.length;
  }
}
