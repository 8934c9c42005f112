/** A chat completion (the internal call's answer) as a Response's output items, status and usage. */
import { jsonObjectOf } from "../../core/serialized-json.js";
import type { IdMaker } from "./ids.js";
import { incompleteReason, usageOf } from "./response-object.js";

type Body = Record<string, unknown>;

export interface Answer {
  output: Body[];
  status: "completed" | "incomplete";
  incomplete: Body | null;
  usage: Body;
}

export const messageItem = (id: string, text: string, status: string): Body => ({
  id,
  type: "message",
  role: "assistant",
  status,
  content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
});

export const functionCallItem = (id: string, callId: string, name: string, args: string, status: string): Body => ({
  id,
  type: "function_call",
  call_id: callId,
  name,
  arguments: args,
  status,
});

export function answerFromChat(result: unknown, ids: IdMaker): Answer {
  const chat = jsonObjectOf(result);
  const choice = ((chat.choices as Body[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message as Body | undefined) ?? {};
  const incomplete = incompleteReason(choice.finish_reason);
  const itemStatus = incomplete ? "incomplete" : "completed";
  const calls = (message.tool_calls as Body[] | undefined) ?? [];
  const output: Body[] = [];
  const text = typeof message.content === "string" ? message.content : "";
  // A turn that only calls tools has no message; any other has one, empty text included.
  if (text !== "" || calls.length === 0) output.push(messageItem(ids.item("msg"), text, itemStatus));
  for (const call of calls) {
    const fn = (call.function as Body | undefined) ?? {};
    output.push(functionCallItem(ids.item("fc"), String(call.id ?? ids.item("fc")), String(fn.name ?? ""), String(fn.arguments ?? ""), itemStatus));
  }
  return { output, status: incomplete ? "incomplete" : "completed", incomplete, usage: usageOf(chat.usage as Body | undefined) };
}
