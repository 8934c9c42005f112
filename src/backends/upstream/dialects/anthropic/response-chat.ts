/**
 * A Messages API answer -> an OpenAI chat.completion: text blocks are the content, tool_use blocks
 * the tool calls (input as a JSON string), thinking and other blocks are left out; with a forced
 * json_schema tool, that tool's input is the content.
 */
import { UpstreamError } from "../../../../core/errors.js";
import { nowSeconds, type FinishReason } from "../../../../core/openai-shapes.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? v : 0);

/** Anthropic's stop_reason -> OpenAI's finish_reason. */
export const STOP_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** `jsonMode`: the tool_use of the forced json_schema tool is the answer, so the call ended normally. */
export function finishReason(stopReason: unknown, jsonMode: boolean): FinishReason {
  // Own keys only: an upstream's "constructor" must not pick up Object's.
  const key = String(stopReason);
  const reason = Object.hasOwn(STOP_REASONS, key) ? STOP_REASONS[key] : "stop";
  return jsonMode && reason === "tool_calls" ? "stop" : reason;
}

export interface AnthropicUsageCounts {
  input: number;
  cacheRead: number;
  cacheCreation: number;
  output: number;
}

export function usageCounts(u: unknown): AnthropicUsageCounts {
  const o = isObject(u) ? u : {};
  return {
    input: count(o.input_tokens),
    cacheRead: count(o.cache_read_input_tokens),
    cacheCreation: count(o.cache_creation_input_tokens),
    output: count(o.output_tokens),
  };
}

/** Input and both cache counts are prompt tokens (Anthropic counts them apart); cache reads are OpenAI's cached_tokens. */
export function openAiUsage(u: AnthropicUsageCounts) {
  const prompt = u.input + u.cacheRead + u.cacheCreation;
  return { prompt_tokens: prompt, completion_tokens: u.output, total_tokens: prompt + u.output, prompt_tokens_details: { cached_tokens: u.cacheRead } };
}

const toolCall = (b: Json) => ({ id: String(b.id), type: "function" as const, function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });

/** `jsonTool`: the forced json_schema tool's name, when the request asked for one. */
export function chatCompletionOf(message: Json, model: string, jsonTool: string | undefined, providerId: string): Json {
  if (!Array.isArray(message.content)) {
    throw new UpstreamError(502, `${providerId}: the upstream's message has no content array`, "upstream_protocol_error");
  }
  let text = "";
  let sawText = false;
  const calls: ReturnType<typeof toolCall>[] = [];
  for (const block of message.content) {
    if (!isObject(block)) continue;
    if (block.type === "text" && typeof block.text === "string") {
      text += block.text;
      sawText = true;
    } else if (block.type === "tool_use" && jsonTool !== undefined && block.name === jsonTool) {
      text += JSON.stringify(block.input ?? {});
      sawText = true;
    } else if (block.type === "tool_use") calls.push(toolCall(block));
    // thinking, redacted_thinking and server-tool blocks have no place in a chat completion.
  }
  const reply: Json = { role: "assistant", content: sawText ? text : null, refusal: null };
  if (calls.length > 0) reply.tool_calls = calls;
  return {
    id: typeof message.id === "string" ? message.id : "msg_unknown",
    object: "chat.completion",
    created: nowSeconds(),
    model,
    choices: [{ index: 0, message: reply, logprobs: null, finish_reason: finishReason(message.stop_reason, jsonTool !== undefined) }],
    usage: openAiUsage(usageCounts(message.usage)),
  };
}
