/**
 * Chat chunks (the internal call's stream) as the Responses API's semantic events, each with the
 * next `sequence_number`: response.created and .in_progress; per output item output_item.added,
 * for a message content_part.added, output_text.delta..., output_text.done, content_part.done, for a
 * function call function_call_arguments.delta... and .done; output_item.done; then the closing event.
 */
import type { SseFrame } from "../../core/sse-frame.js";
import { jsonObjectOf } from "../../core/serialized-json.js";
import type { ApiError } from "../../core/errors.js";
import type { IdMaker } from "./ids.js";
import { functionCallItem, messageItem } from "./from-chat.js";
import { incompleteReason, responseError, usageOf, type ResponseObject } from "./response-object.js";

type Body = Record<string, unknown>;

interface OpenText {
  index: number;
  id: string;
  text: string;
}
interface OpenCall {
  index: number;
  id: string;
  callId: string;
  name: string;
  args: string;
  closed?: boolean;
}

const outputPart = (text: string): Body => ({ type: "output_text", text, annotations: [], logprobs: [] });

export class ResponseEvents {
  private sequence = 0;
  /** Output items in order, as they stand (copied into each event: frames may be serialized later). */
  private readonly output: Body[] = [];
  private text?: OpenText;
  /** chat tool-call index -> its function_call item (open until the next call begins or the stream ends). */
  private readonly calls = new Map<number, OpenCall>();
  private finish: unknown = null;
  private usage?: Body;

  constructor(
    private readonly response: ResponseObject,
    private readonly ids: IdMaker,
  ) {}

  private frame(data: Body & { type: string }): SseFrame {
    data.sequence_number = this.sequence++;
    return { event: data.type, data };
  }

  start(): SseFrame[] {
    const response = this.response.build("in_progress", []);
    return [this.frame({ type: "response.created", response }), this.frame({ type: "response.in_progress", response })];
  }

  /** The frames of a batch of chunks (any number, possibly none). */
  chunks(batch: readonly unknown[]): SseFrame[] {
    const out: SseFrame[] = [];
    for (const raw of batch) this.chunk(jsonObjectOf(raw), out);
    return out;
  }

  /** Closes the open items; answers their frames and the final Response (status completed or incomplete). */
  end(): { frames: SseFrame[]; response: Body } {
    const frames: SseFrame[] = [];
    const incomplete = incompleteReason(this.finish);
    const status = incomplete ? "incomplete" : "completed";
    // A turn with neither text nor calls still answers a message, as the JSON answer does.
    if (this.output.length === 0) this.openText(frames);
    this.closeText(frames, status);
    for (const call of [...this.calls.values()].sort((a, b) => a.index - b.index)) this.closeCall(call, frames, status);
    const response = this.response.build(status, this.output, { usage: usageOf(this.usage), incomplete });
    return { frames, response };
  }

  /** response.completed or response.incomplete, once the final Response is stored. */
  closing(response: Body): SseFrame {
    return this.frame({ type: response.status === "incomplete" ? "response.incomplete" : "response.completed", response });
  }

  /** response.failed: the output so far, and the error. */
  failed(err: ApiError): SseFrame {
    const response = this.response.build("failed", this.output, { error: responseError(err), usage: this.usage ? usageOf(this.usage) : undefined });
    return this.frame({ type: "response.failed", response });
  }

  private chunk(chunk: Body, out: SseFrame[]): void {
    if (chunk.usage) this.usage = chunk.usage as Body;
    const choice = (chunk.choices as Body[] | undefined)?.[0];
    if (!choice) return;
    const delta = (choice.delta as Body | undefined) ?? {};
    if (typeof delta.content === "string" && delta.content !== "") this.textDelta(delta.content, out);
    for (const call of (delta.tool_calls as Body[] | undefined) ?? []) this.callDelta(call, out);
    if (choice.finish_reason) this.finish = choice.finish_reason;
  }

  private openText(out: SseFrame[]): OpenText {
    const text: OpenText = { index: this.output.length, id: this.ids.item("msg"), text: "" };
    this.output.push(messageItem(text.id, "", "in_progress"));
    this.text = text;
    out.push(this.frame({ type: "response.output_item.added", output_index: text.index, item: { ...messageItem(text.id, "", "in_progress"), content: [] } }));
    out.push(this.frame({ type: "response.content_part.added", item_id: text.id, output_index: text.index, content_index: 0, part: outputPart("") }));
    return text;
  }

  private textDelta(delta: string, out: SseFrame[]): void {
    const text = this.text ?? this.openText(out);
    text.text += delta;
    out.push(this.frame({ type: "response.output_text.delta", item_id: text.id, output_index: text.index, content_index: 0, delta, logprobs: [] }));
  }

  private closeText(out: SseFrame[], status: string): void {
    const text = this.text;
    if (!text) return;
    this.text = undefined;
    const at = { item_id: text.id, output_index: text.index, content_index: 0 };
    const item = messageItem(text.id, text.text, status);
    this.output[text.index] = item;
    out.push(this.frame({ type: "response.output_text.done", ...at, text: text.text, logprobs: [] }));
    out.push(this.frame({ type: "response.content_part.done", ...at, part: outputPart(text.text) }));
    out.push(this.frame({ type: "response.output_item.done", output_index: text.index, item }));
  }

  private callDelta(delta: Body, out: SseFrame[]): void {
    const at = typeof delta.index === "number" ? delta.index : 0;
    const fn = (delta.function as Body | undefined) ?? {};
    let call = this.calls.get(at);
    if (!call) {
      // What came before the call is finished: chat streams a message's text, then its calls one
      // after the other, so the text and any earlier call are complete (and OpenAI's events close
      // each item before the next one opens).
      this.closeText(out, "completed");
      for (const open of this.calls.values()) this.closeCall(open, out, "completed");
      const id = this.ids.item("fc");
      call = { index: this.output.length, id, callId: String(delta.id ?? id), name: String(fn.name ?? ""), args: "" };
      this.calls.set(at, call);
      this.output.push(functionCallItem(id, call.callId, call.name, "", "in_progress"));
      out.push(
        this.frame({ type: "response.output_item.added", output_index: call.index, item: functionCallItem(id, call.callId, call.name, "", "in_progress") }),
      );
    }
    if (typeof fn.arguments === "string" && fn.arguments !== "") {
      call.args += fn.arguments;
      out.push(this.frame({ type: "response.function_call_arguments.delta", item_id: call.id, output_index: call.index, delta: fn.arguments }));
    }
  }

  private closeCall(call: OpenCall, out: SseFrame[], status: string): void {
    if (call.closed) return;
    call.closed = true;
    const item = functionCallItem(call.id, call.callId, call.name, call.args, status);
    this.output[call.index] = item;
    out.push(this.frame({ type: "response.function_call_arguments.done", item_id: call.id, name: call.name, output_index: call.index, arguments: call.args }));
    out.push(this.frame({ type: "response.output_item.done", output_index: call.index, item }));
  }
}
