/**
 * Conversation items (input_items' shapes: see input-items.ts) as chat messages: the messages of
 * the internal chat call. Function calls join the assistant message before them as its tool_calls;
 * function call outputs are tool messages.
 */
import { refuse, type Item } from "./input-items.js";

type Part = Record<string, unknown>;
type ChatMessage = Record<string, unknown>;

function userContent(parts: readonly Part[]): unknown {
  if (parts.every((p) => p.type === "input_text")) return parts.map((p) => p.text).join("");
  return parts.map((p) => {
    if (p.type === "input_text") return { type: "text", text: p.text };
    const image: Part = { url: p.image_url };
    if (p.detail === "low" || p.detail === "high") image.detail = p.detail;
    return { type: "image_url", image_url: image };
  });
}

const textOf = (parts: readonly Part[]) => parts.map((p) => (p.type === "refusal" ? p.refusal : p.text)).join("");

function messageOf(item: Item, param: string): ChatMessage {
  const parts = item.content as Part[];
  if (item.role === "assistant") return { role: "assistant", content: textOf(parts) };
  if (item.role === "user") return { role: "user", content: userContent(parts) };
  // Chat's `developer` role is not known to every backend (TGI, older servers); `system` is.
  if (parts.some((p) => p.type !== "input_text"))
    throw refuse(param, `(a ${String(item.role)} message with an image) is not supported: only user messages take images`);
  return { role: "system", content: textOf(parts) };
}

const outputText = (output: unknown) => (typeof output === "string" ? output : textOf(output as Part[]));

/** `items` as chat messages, appended to `out`. `param` names where the items came from, for errors. */
export function chatMessages(items: readonly Item[], param: (i: number) => string, out: ChatMessage[] = []): ChatMessage[] {
  items.forEach((item, i) => {
    if (item.type === "function_call") {
      const call = { id: item.call_id, type: "function", function: { name: item.name, arguments: item.arguments } };
      const last = out.at(-1);
      if (last?.role === "assistant") ((last.tool_calls as unknown[] | undefined) ?? (last.tool_calls = [])).push(call);
      else out.push({ role: "assistant", content: null, tool_calls: [call] });
    } else if (item.type === "function_call_output") out.push({ role: "tool", tool_call_id: item.call_id, content: outputText(item.output) });
    else out.push(messageOf(item, param(i)));
  });
  return out;
}
