/**
 * A backend that speaks Anthropic's Messages API (an `anthropic` upstream) gets the request as a
 * Messages request, so its own stop reasons (`end_turn`, `stop_sequence`, `max_tokens`) come back
 * to the client, as Sourcegraph's anthropic provider returns them. The prompt is the same as the
 * chat call's (prompt.ts); only its wire form differs.
 */
import type { AnthropicMessageRequest } from "../../backends/types.js";
import type { SseFrame } from "../../core/sse-frame.js";
import { jsonObjectOf } from "../../core/serialized-json.js";
import { toChatRequest } from "./to-chat.js";
import type { BatchRead } from "./answer.js";

type Body = Record<string, unknown>;

const DATA_URL = /^data:([^;,]+);base64,(.*)$/s;

function imageBlock(url: string): Body {
  const inline = DATA_URL.exec(url);
  if (inline) return { type: "image", source: { type: "base64", media_type: inline[1], data: inline[2] } };
  return { type: "image", source: { type: "url", url } };
}

function blocks(content: unknown): unknown {
  if (typeof content === "string") return content;
  return (content as Body[]).map((part) => (part.type === "text" ? { type: "text", text: part.text } : imageBlock(String((part.image_url as Body).url))));
}

/** The Messages request; `max_tokens` is required there, so only a request with `maxTokensToSample` goes natively. */
export function toMessagesRequest(body: Body, version: number): AnthropicMessageRequest {
  const chat = toChatRequest(body, version) as unknown as Body;
  const out: Body = { model: body.model, max_tokens: chat.max_tokens };
  const messages = chat.messages as Body[];
  const first = messages[0];
  if (first?.role === "system") out.system = first.content;
  out.messages = messages.filter((m) => m.role !== "system").map((m) => ({ role: m.role, content: blocks(m.content) }));
  if (chat.stop !== undefined) out.stop_sequences = chat.stop;
  if (chat.temperature !== undefined) out.temperature = chat.temperature;
  if (chat.top_p !== undefined) out.top_p = chat.top_p;
  const topK = (chat["x-localai-extensions"] as Body | undefined)?.top_k;
  if (topK !== undefined) out.top_k = topK;
  if (chat.stream === true) out.stream = true;
  return out as unknown as AnthropicMessageRequest;
}

export function completionFromMessage(result: unknown): Body {
  const message = jsonObjectOf(result);
  let completion = "";
  for (const block of (message.content as Body[] | undefined) ?? []) if (block.type === "text") completion += block.text as string;
  return { completion, stopReason: typeof message.stop_reason === "string" ? message.stop_reason : "end_turn" };
}

/** A batch of the Messages stream's events: text deltas and the stop reason (message_delta). */
export function readMessageEvents(batch: readonly unknown[]): BatchRead {
  let text = "";
  let finish: unknown;
  for (const raw of batch) {
    const frame = raw as SseFrame;
    if (frame.event !== "content_block_delta" && frame.event !== "message_delta") continue;
    const data = jsonObjectOf(frame.data);
    const delta = (data.delta as Body | undefined) ?? {};
    if (delta.type === "text_delta" && typeof delta.text === "string") text += delta.text;
    if (frame.event === "message_delta" && typeof delta.stop_reason === "string") finish = delta.stop_reason;
  }
  return { text, finish };
}
