/** Builders for OpenAI's response and chunk shapes, shared by backends that generate locally. */
import { randomBytes } from "node:crypto";

export const newId = (prefix: string) => `${prefix}${randomBytes(12).toString("base64url")}`;
export const nowSeconds = () => Math.floor(Date.now() / 1000);

export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const usage = (prompt: number, completion: number): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
});

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatChoice {
  index: number;
  message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: ToolCall[] };
  logprobs: null;
  finish_reason: FinishReason;
}

export interface ChatStreamHeader {
  id: string;
  created: number;
  model: string;
  system_fingerprint: string;
}

export function chatCompletion(head: ChatStreamHeader, choices: ChatChoice[], u: Usage) {
  return {
    id: head.id,
    object: "chat.completion" as const,
    created: head.created,
    model: head.model,
    system_fingerprint: head.system_fingerprint,
    choices,
    usage: u,
  };
}

export function chatChunk(head: ChatStreamHeader, choices: unknown[], u?: Usage | null) {
  const chunk: Record<string, unknown> = {
    id: head.id,
    object: "chat.completion.chunk",
    created: head.created,
    model: head.model,
    system_fingerprint: head.system_fingerprint,
    choices,
  };
  if (u !== undefined) chunk.usage = u;
  return chunk;
}

export function textCompletion(head: ChatStreamHeader, choices: unknown[], u?: Usage | null) {
  const body: Record<string, unknown> = {
    id: head.id,
    object: "text_completion",
    created: head.created,
    model: head.model,
    system_fingerprint: head.system_fingerprint,
    choices,
  };
  if (u !== undefined) body.usage = u;
  return body;
}
