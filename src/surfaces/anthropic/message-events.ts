/**
 * Chat chunks (the internal call's stream) as Anthropic's stream events: message_start, then per
 * content block content_block_start / content_block_delta (text_delta, input_json_delta) /
 * content_block_stop, then message_delta (stop reason, usage) and message_stop.
 */
import type { SseFrame } from "../../core/sse-frame.js";
import { jsonObjectOf } from "../../core/serialized-json.js";
import { newId } from "../../core/openai-shapes.js";
import { newMessageId, stopReasonOf, stopSequenceOf, usageOf } from "./from-chat.js";

type Body = Record<string, unknown>;

const frame = (data: Body & { type: string }): SseFrame => ({ event: data.type, data });

/** The open content block: text, or the tool call (by its chat index) it holds. */
type Open = { kind: "text" } | { kind: "tool"; call: number };

export class MessageEvents {
  private index = -1;
  private open?: Open;
  /** chat tool-call index -> its content block's index. */
  private readonly toolBlocks = new Map<number, number>();
  private finish: unknown = null;
  private stopSaid: Body = {};
  private usage?: Body;

  constructor(
    private readonly model: string,
    private readonly stopSequences: readonly string[] | undefined,
  ) {}

  start(): SseFrame {
    const message = {
      id: newMessageId(),
      type: "message",
      role: "assistant",
      model: this.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The real counts arrive with the last chunk and go in message_delta, which Anthropic's clients read as totals.
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    return frame({ type: "message_start", message });
  }

  /** The frames of a batch of chunks (any number, possibly none). */
  chunks(batch: readonly unknown[]): SseFrame[] {
    const out: SseFrame[] = [];
    for (const raw of batch) this.chunk(jsonObjectOf(raw), out);
    return out;
  }

  /** The closing frames, once the chunks have ended. */
  end(): SseFrame[] {
    const out: SseFrame[] = [];
    this.close(out);
    const stopSequence = stopSequenceOf(this.stopSaid, this.stopSequences);
    const usage = usageOf(this.usage);
    out.push(
      frame({ type: "message_delta", delta: { stop_reason: stopReasonOf(this.finish, stopSequence), stop_sequence: stopSequence }, usage }),
      frame({ type: "message_stop" }),
    );
    return out;
  }

  private chunk(chunk: Body, out: SseFrame[]): void {
    if (chunk.usage) this.usage = chunk.usage as Body;
    const choice = (chunk.choices as Body[] | undefined)?.[0];
    if (!choice) return;
    const delta = (choice.delta as Body | undefined) ?? {};
    if (typeof delta.content === "string" && delta.content !== "") this.text(delta.content, out);
    for (const call of (delta.tool_calls as Body[] | undefined) ?? []) this.toolCall(call, out);
    if (choice.finish_reason) {
      this.finish = choice.finish_reason;
      this.stopSaid = choice;
    }
  }

  private text(text: string, out: SseFrame[]): void {
    if (this.open?.kind !== "text") this.begin({ kind: "text" }, { type: "text", text: "" }, out);
    out.push(frame({ type: "content_block_delta", index: this.index, delta: { type: "text_delta", text } }));
  }

  private toolCall(call: Body, out: SseFrame[]): void {
    const at = typeof call.index === "number" ? call.index : 0;
    const fn = (call.function as Body | undefined) ?? {};
    if (!this.toolBlocks.has(at)) {
      this.begin({ kind: "tool", call: at }, { type: "tool_use", id: call.id ?? newId("toolu_"), name: fn.name ?? "", input: {} }, out);
      this.toolBlocks.set(at, this.index);
    }
    if (typeof fn.arguments === "string" && fn.arguments !== "") {
      out.push(frame({ type: "content_block_delta", index: this.toolBlocks.get(at)!, delta: { type: "input_json_delta", partial_json: fn.arguments } }));
    }
  }

  private begin(open: Open, block: Body, out: SseFrame[]): void {
    this.close(out);
    this.open = open;
    this.index++;
    out.push(frame({ type: "content_block_start", index: this.index, content_block: block }));
  }

  private close(out: SseFrame[]): void {
    if (this.open === undefined) return;
    out.push(frame({ type: "content_block_stop", index: this.index }));
    this.open = undefined;
  }
}
