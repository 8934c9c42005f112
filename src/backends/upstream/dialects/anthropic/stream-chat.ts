/**
 * Anthropic's event stream -> OpenAI chat chunks:
 *   message_start                      -> the first chunk (role assistant); input token counts noted
 *   content_block_start text           -> (its text, if any)
 *   content_block_start tool_use       -> a tool_calls delta with id and name (index counts tool calls)
 *   content_block_delta text_delta     -> a content delta
 *   content_block_delta input_json_delta -> a tool_calls arguments fragment (same index and call),
 *                                         or, for the forced json_schema tool, a content delta
 *   thinking / signature deltas, content_block_stop, ping, unknown events -> nothing
 *   message_delta                      -> the finish_reason chunk, and the usage chunk when stream_options.include_usage
 *   message_stop                       -> the end of the stream (the surface writes [DONE])
 *   event: error                       -> an ApiError: the in-band error frame, then [DONE]
 */
import type { EventSourceMessage } from "eventsource-parser";
import { chatChunk, nowSeconds, type ChatStreamHeader } from "../../../../core/openai-shapes.js";
import type { DecodeContext, Decoded, StreamDecoder } from "../../dialect.js";
import { eventJson, eventType } from "./event-json.js";
import { jsonToolName } from "./request-chat.js";
import { finishReason, openAiUsage, usageCounts, type AnthropicUsageCounts } from "./response-chat.js";

type Json = Record<string, unknown>;
/** What a content block's deltas become. */
type BlockKind = { kind: "text" } | { kind: "tool"; index: number } | { kind: "json" } | { kind: "skip" };

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export class AnthropicChatStreamDecoder implements StreamDecoder {
  ended = false;
  complete = false;
  private readonly head: ChatStreamHeader;
  private readonly jsonTool: string | undefined;
  private readonly includeUsage: boolean;
  private readonly blocks = new Map<number, BlockKind>();
  private toolCalls = 0;
  private usage: AnthropicUsageCounts = { input: 0, cacheRead: 0, cacheCreation: 0, output: 0 };

  constructor(private readonly ctx: DecodeContext) {
    this.head = { id: "msg_unknown", created: nowSeconds(), model: ctx.requestedModel, system_fingerprint: "anthropic" };
    this.jsonTool = jsonToolName(ctx.request);
    const options = ctx.request.stream_options;
    this.includeUsage = isObject(options) && options.include_usage === true;
  }

  decode(events: readonly EventSourceMessage[], out: Decoded[]): number {
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      const data = eventJson(event, this.ctx);
      const type = eventType(event, data, this.ctx);
      if (type === "message_stop") {
        this.ended = true;
        return i + 1;
      }
      this.onEvent(type, data, out);
    }
    return events.length;
  }

  private chunk(delta: Json, finish: string | null = null): Json {
    return chatChunk(this.head, [{ index: 0, delta, logprobs: null, finish_reason: finish }]);
  }

  private onEvent(type: string, data: Json, out: Decoded[]): void {
    switch (type) {
      case "message_start":
        return this.start(data, out);
      case "content_block_start":
        return this.blockStart(data, out);
      case "content_block_delta":
        return this.blockDelta(data, out);
      case "message_delta":
        return this.messageDelta(data, out);
      default:
      // ping, content_block_stop and event types added later carry nothing a chat chunk has.
    }
  }

  private start(data: Json, out: Decoded[]): void {
    const message = isObject(data.message) ? data.message : {};
    if (typeof message.id === "string") this.head.id = message.id;
    this.usage = usageCounts(message.usage);
    out.push(this.chunk({ role: "assistant", content: "" }));
  }

  private blockStart(data: Json, out: Decoded[]): void {
    const index = Number(data.index);
    const block = isObject(data.content_block) ? data.content_block : {};
    if (block.type === "text") {
      this.blocks.set(index, { kind: "text" });
      if (typeof block.text === "string" && block.text !== "") out.push(this.chunk({ content: block.text }));
    } else if (block.type === "tool_use" && this.jsonTool !== undefined && block.name === this.jsonTool) {
      this.blocks.set(index, { kind: "json" });
    } else if (block.type === "tool_use") {
      const call = this.toolCalls++;
      this.blocks.set(index, { kind: "tool", index: call });
      const fn = { name: String(block.name), arguments: "" };
      out.push(this.chunk({ tool_calls: [{ index: call, id: String(block.id), type: "function", function: fn }] }));
    } else this.blocks.set(index, { kind: "skip" });
  }

  private blockDelta(data: Json, out: Decoded[]): void {
    const kind = this.blocks.get(Number(data.index));
    const delta = isObject(data.delta) ? data.delta : {};
    if (!kind || kind.kind === "skip") return;
    if (delta.type === "text_delta" && kind.kind === "text" && typeof delta.text === "string") {
      if (delta.text !== "") out.push(this.chunk({ content: delta.text }));
    } else if (delta.type === "input_json_delta" && typeof delta.partial_json === "string" && delta.partial_json !== "") {
      if (kind.kind === "json") out.push(this.chunk({ content: delta.partial_json }));
      else if (kind.kind === "tool") out.push(this.chunk({ tool_calls: [{ index: kind.index, function: { arguments: delta.partial_json } }] }));
    }
  }

  private messageDelta(data: Json, out: Decoded[]): void {
    const delta = isObject(data.delta) ? data.delta : {};
    // message_delta's usage is cumulative; newer API versions repeat the input counts in it too.
    const u = isObject(data.usage) ? data.usage : {};
    const now = usageCounts(u);
    this.usage = {
      input: u.input_tokens !== undefined && u.input_tokens !== null ? now.input : this.usage.input,
      cacheRead: u.cache_read_input_tokens !== undefined && u.cache_read_input_tokens !== null ? now.cacheRead : this.usage.cacheRead,
      cacheCreation: u.cache_creation_input_tokens !== undefined && u.cache_creation_input_tokens !== null ? now.cacheCreation : this.usage.cacheCreation,
      output: u.output_tokens !== undefined ? now.output : this.usage.output,
    };
    if (delta.stop_reason === undefined || delta.stop_reason === null) return;
    this.complete = true;
    out.push(this.chunk({}, finishReason(delta.stop_reason, this.jsonTool !== undefined)));
    if (this.includeUsage) out.push(chatChunk(this.head, [], openAiUsage(this.usage)));
  }
}
