/**
 * The OpenAI calls the checks share. Requests go through the `openai` SDK (so its request encoding and
 * error handling are what is exercised); bodies are read raw with `.asResponse()`, so the checks see
 * exactly what the server sent (the SDK hides `[DONE]` and rewrites embeddings).
 */
import type { ChatCompletionCreateParamsNonStreaming, ChatCompletionCreateParamsStreaming } from "openai/resources/chat/completions";
import { CheckFailure, expect, type CheckContext } from "./check-types.js";
import { expectSchema } from "./schema-check.js";
import { jsonBody, parseJson, readSse, type SseEvent } from "./wire.js";

/** Tokens asked for by default: the checks are about shapes, and small answers keep slow models quick. */
export const SMALL_MAX_TOKENS = 12;

export const HELLO = [{ role: "user" as const, content: "Say hello." }];

type ChatExtras = Omit<ChatCompletionCreateParamsNonStreaming, "model" | "messages" | "stream"> & {
  messages?: ChatCompletionCreateParamsNonStreaming["messages"];
};

// The per-check timeout aborts `signal`; the client's own timeout (the same bound) is left as a backstop.
export const sdkOptions = (ctx: CheckContext) => ({ signal: ctx.signal, maxRetries: 0 });

/** A non-streamed chat completion, valid against the spec, with exactly one choice. */
export async function chatJson(ctx: CheckContext, extras: ChatExtras = {}): Promise<any> {
  const params: ChatCompletionCreateParamsNonStreaming = { model: ctx.model, messages: HELLO, max_tokens: SMALL_MAX_TOKENS, ...extras, stream: false };
  const res = await ctx.client.chat.completions.create(params, sdkOptions(ctx)).asResponse();
  const body = await jsonBody(res, 200, "chat completion");
  expectSchema("CreateChatCompletionResponse", body, "chat completion");
  expect(body.choices.length === 1, `chat completion has ${body.choices.length} choices (asked for 1)`);
  return body;
}

export interface ChatStream {
  chunks: any[];
  finish: string;
}

/** A streamed chat completion read raw: every chunk valid, one finish_reason, `data: [DONE]` last. */
export async function chatStream(ctx: CheckContext, extras: ChatExtras & { stream_options?: { include_usage: boolean } } = {}): Promise<ChatStream> {
  const params: ChatCompletionCreateParamsStreaming = { model: ctx.model, messages: HELLO, max_tokens: SMALL_MAX_TOKENS, ...extras, stream: true };
  const res = await ctx.client.chat.completions.create(params, sdkOptions(ctx)).asResponse();
  return openaiChunks(await readSse(res));
}

export function openaiChunks(events: SseEvent[]): ChatStream {
  expect(events.length > 0, "the stream is empty");
  const doneAt = events.findIndex((e) => e.data === "[DONE]");
  expect(doneAt >= 0, "the stream does not end with data: [DONE]");
  expect(doneAt === events.length - 1, `${events.length - 1 - doneAt} event(s) after data: [DONE]`);
  const chunks = events.slice(0, -1).map((e, i) => {
    const chunk = parseJson(e.data, `chunk ${i}`);
    expectSchema("CreateChatCompletionStreamResponse", chunk, `chunk ${i}`);
    return chunk as any;
  });
  expect(chunks.length > 0, "no chunk before data: [DONE]");
  const finishes: string[] = chunks.flatMap((c) => c.choices.filter((ch: any) => ch.finish_reason != null).map((ch: any) => ch.finish_reason));
  expect(finishes.length === 1, `${finishes.length} chunks carry a finish_reason (expected exactly one)`);
  return { chunks, finish: finishes[0] };
}

/** The text of a stream's content deltas, joined. */
export const streamedText = (s: ChatStream) => s.chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");

/** A request the server must refuse: the SDK's APIError, with the body's `error` checked against ErrorResponse. */
export async function expectApiError(
  call: Promise<unknown>,
  status: number,
  what: string,
): Promise<{ message: string; type: string; param: string | null; code: string | null }> {
  try {
    await call;
  } catch (err) {
    const e = err as { status?: number; error?: unknown };
    if (typeof e.status !== "number") throw err;
    expect(e.status === status, `${what}: HTTP ${e.status} (expected ${status})`);
    expectSchema("ErrorResponse", { error: e.error }, `${what}'s error body`);
    return e.error as any;
  }
  throw new CheckFailure(`${what} was accepted (expected HTTP ${status})`);
}
