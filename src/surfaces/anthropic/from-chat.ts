/** A chat completion (the internal call's answer) as an Anthropic Message. */
import { UpstreamError } from "../../core/errors.js";
import { newId } from "../../core/openai-shapes.js";
import { jsonObjectOf } from "../../core/serialized-json.js";

type Body = Record<string, unknown>;

export type StopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "refusal";

export interface AnthropicUsageOut {
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens?: number;
}

export const newMessageId = () => newId("msg_");

/**
 * Which stop sequence ended the answer: vLLM (and Understudy's llama-cpp backend) say so in the
 * choice's `stop_reason`; a chat answer without it ended on the model's own end of turn.
 */
export function stopSequenceOf(choice: Body, stopSequences: readonly string[] | undefined): string | null {
  const said = choice.stop_reason;
  return typeof said === "string" && stopSequences?.includes(said) ? said : null;
}

export function stopReasonOf(finish: unknown, stopSequence: string | null): StopReason {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return stopSequence === null ? "end_turn" : "stop_sequence";
  }
}

/** prompt_tokens counts cached tokens too; Anthropic's input_tokens does not (they are cache_read_input_tokens). */
export function usageOf(usage: Body | undefined | null): AnthropicUsageOut {
  const prompt = typeof usage?.prompt_tokens === "number" ? usage.prompt_tokens : 0;
  const output = typeof usage?.completion_tokens === "number" ? usage.completion_tokens : 0;
  const cached = (usage?.prompt_tokens_details as Body | undefined)?.cached_tokens;
  if (typeof cached === "number" && cached > 0) return { input_tokens: Math.max(0, prompt - cached), output_tokens: output, cache_read_input_tokens: cached };
  return { input_tokens: prompt, output_tokens: output };
}

/** A tool call's arguments as the object Anthropic's `input` is; anything else is the backend's fault. */
export function toolInput(args: unknown, name: unknown): Body {
  if (args === undefined || args === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(String(args));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new UpstreamError(502, `The backend's call of the tool '${String(name)}' has arguments that are not a JSON object`, "invalid_tool_arguments");
  return parsed as Body;
}

export function messageFromChat(result: unknown, model: string, stopSequences: readonly string[] | undefined): Body {
  const chat = jsonObjectOf(result);
  const choice = ((chat.choices as Body[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message as Body | undefined) ?? {};
  const content: Body[] = [];
  if (typeof message.content === "string" && message.content !== "") content.push({ type: "text", text: message.content });
  for (const call of (message.tool_calls as Body[] | undefined) ?? []) {
    const fn = call.function as Body;
    content.push({ type: "tool_use", id: call.id, name: fn.name, input: toolInput(fn.arguments, fn.name) });
  }
  const stopSequence = stopSequenceOf(choice, stopSequences);
  return {
    id: newMessageId(),
    type: "message",
    role: "assistant",
    model,
    content,
    stop_reason: stopReasonOf(choice.finish_reason, stopSequence),
    stop_sequence: stopSequence,
    usage: usageOf(chat.usage as Body | undefined),
  };
}
