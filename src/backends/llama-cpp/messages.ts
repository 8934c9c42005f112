/**
 * OpenAI chat messages -> node-llama-cpp chat history. Stateless like OpenAI: the whole history
 * each call. An assistant message's tool_calls and the `tool` messages answering them (matched by
 * tool_call_id) become one model item holding functionCall entries with their results.
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelResponse } from "node-llama-cpp";
import { InvalidRequestError } from "../../core/errors.js";

type Part = { type: string; text?: string; refusal?: string };
export interface ChatMessage {
  role: "system" | "developer" | "user" | "assistant" | "tool" | "function";
  content?: string | Part[] | null;
  tool_calls?: { id: string; type: string; function?: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

function textOf(content: ChatMessage["content"], index: number, allowImages: boolean): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, j) => {
      if (part.type === "text") return part.text ?? "";
      if (part.type === "refusal") return part.refusal ?? "";
      const param = `messages[${index}].content[${j}]`;
      if (part.type === "image_url" && !allowImages)
        throw new InvalidRequestError("This model does not accept images (it has no vision capability)", param, "unsupported_content");
      throw new InvalidRequestError(`Content parts of type '${part.type}' are not supported by the llama-cpp backend`, param, "unsupported_content");
    })
    .join("");
}

function parseArguments(raw: string, param: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    throw new InvalidRequestError("tool_calls[].function.arguments must be a JSON string", param, "invalid_value");
  }
}

export function toChatHistory(messages: readonly ChatMessage[], opts: { allowImages: boolean }): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = [];
  const pending = new Map<string, ChatModelFunctionCall>();
  messages.forEach((m, i) => {
    switch (m.role) {
      case "system":
      case "developer":
        history.push({ type: "system", text: textOf(m.content, i, false) });
        break;
      case "user":
        history.push({ type: "user", text: textOf(m.content, i, opts.allowImages) });
        break;
      case "assistant": {
        const response: ChatModelResponse["response"] = [];
        const text = textOf(m.content, i, false);
        if (text) response.push(text);
        (m.tool_calls ?? []).forEach((call, j) => {
          if (call.type !== "function" || !call.function) {
            throw new InvalidRequestError("Only function tool calls are supported", `messages[${i}].tool_calls[${j}]`, "unsupported_value");
          }
          const item: ChatModelFunctionCall = {
            type: "functionCall",
            name: call.function.name,
            params: parseArguments(call.function.arguments, `messages[${i}].tool_calls[${j}].function.arguments`),
            result: undefined,
            startsNewChunk: j === 0 ? undefined : false,
          };
          pending.set(call.id, item);
          response.push(item);
        });
        history.push({ type: "model", response });
        break;
      }
      case "tool": {
        const call = m.tool_call_id ? pending.get(m.tool_call_id) : undefined;
        if (!call) throw new InvalidRequestError(`No assistant tool call has the id '${m.tool_call_id}'`, `messages[${i}].tool_call_id`, "invalid_value");
        call.result = textOf(m.content, i, false);
        pending.delete(m.tool_call_id!);
        break;
      }
      default:
        throw new InvalidRequestError(`The role '${m.role}' is not supported; use 'tool' messages`, `messages[${i}].role`, "unsupported_value");
    }
  });
  if (pending.size > 0) {
    throw new InvalidRequestError(`Tool call '${[...pending.keys()][0]}' has no 'tool' message with its result`, "messages", "missing_tool_result");
  }
  return history;
}
