/**
 * OpenAI's event stream: `data:` frames of chunk JSON ending with `data: [DONE]`. The common chunk
 * is relayed as text with only `model` replaced (UnparsedRelay), so a proxied stream costs one scan
 * per event, not a parse and a serialization; anything else is parsed and checked in full.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { jsonNestsDeeperThan } from "../../../../core/json-depth.js";
import { UpstreamError } from "../../../../core/errors.js";
import { UnparsedRelay, withModel } from "../../../../core/serialized-json.js";
import type { DecodeContext, Decoded, Json, StreamDecoder } from "../../dialect.js";
import { MAX_UPSTREAM_JSON_DEPTH, tooDeep } from "../../response-limits.js";
import { streamPayloadError } from "../../upstream-errors.js";
import { errorInfoFromPayload, isErrorPayload, parseErrorBody } from "./error-body.js";

const DONE = Symbol("done");

export class OpenAiStreamDecoder implements StreamDecoder {
  ended = false;
  private sawFinish = false;
  private readonly relayer: UnparsedRelay;

  constructor(private readonly ctx: DecodeContext) {
    this.relayer = new UnparsedRelay(ctx.requestedModel, MAX_UPSTREAM_JSON_DEPTH);
  }

  get complete(): boolean {
    return this.sawFinish || this.relayer.sawFinish;
  }

  decode(events: readonly EventSourceMessage[], out: Decoded[]): number {
    for (let i = 0; i < events.length; i++) {
      const chunk = this.toChunk(events[i]);
      if (chunk === DONE) {
        this.ended = true;
        return i + 1;
      }
      if (chunk) out.push(chunk);
    }
    return events.length;
  }

  private toChunk(event: EventSourceMessage): Decoded | typeof DONE | undefined {
    const { providerId } = this.ctx;
    if (event.event === "error") throw streamPayloadError(providerId, parseErrorBody(event.data, 502, this.ctx.redact));
    // Named events other than `message` are not OpenAI chunks (e.g. keep-alive pings): skipped.
    if (event.event !== undefined && event.event !== "message") return undefined;
    const data = event.data;
    if (data === "[DONE]") return DONE;
    const relayed = this.relayer.relay(data);
    if (relayed) return relayed;
    // Before the parse: the chunk is serialized again, and JSON.stringify recurses.
    if (jsonNestsDeeperThan(data, MAX_UPSTREAM_JSON_DEPTH)) throw tooDeep(providerId);
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not JSON`, "upstream_protocol_error");
    }
    if (typeof chunk !== "object" || chunk === null) {
      throw new UpstreamError(502, `${providerId}: the upstream sent an event that is not a JSON object`, "upstream_protocol_error");
    }
    if (isErrorPayload(chunk)) throw streamPayloadError(providerId, errorInfoFromPayload(chunk, this.ctx.redact));
    if (!this.sawFinish) this.noteFinish(chunk);
    return withModel(data, chunk, this.ctx.requestedModel);
  }

  private noteFinish(chunk: Json): void {
    const choices = chunk.choices;
    if (!Array.isArray(choices)) return;
    for (const c of choices) if (c && (c as Json).finish_reason) this.sawFinish = true;
  }
}
