/**
 * A typed client for an Understudy server: openapi-fetch over the types openapi-typescript
 * generates from the published spec (schema.d.ts, written by `npm run generate`). Requests and
 * responses, `x-localai-extensions` included, are checked by the compiler against the spec.
 */
import createClient, { mergeHeaders, type Client, type ClientOptions } from "openapi-fetch";
import { createParser } from "eventsource-parser";
import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";

type Schemas = components["schemas"];
export type ChatCompletionRequest = Schemas["CreateChatCompletionRequest"];
export type ChatCompletion = Schemas["CreateChatCompletionResponse"];
export type ChatCompletionChunk = Schemas["CreateChatCompletionStreamResponse"];
export type CompletionRequest = Schemas["CreateCompletionRequest"];
export type Completion = Schemas["CreateCompletionResponse"];
export type EmbeddingRequest = Schemas["CreateEmbeddingRequest"];
export type Embeddings = Schemas["CreateEmbeddingResponse"];
export type Model = Schemas["Model"];
/** Understudy's sampling extensions (chat and text completions), sent as `x-localai-extensions`. */
export type LocalAISamplingExtensions = Schemas["LocalAISamplingExtensions"];
/** Understudy's embeddings extensions, sent as `x-localai-extensions`. */
export type LocalAIEmbeddingExtensions = Schemas["LocalAIEmbeddingExtensions"];

/**
 * JSON answers are typed as JSON: a 200 of chat or completions may be JSON or an event stream in
 * the spec, and the stream is read with `parseAs: "stream"` (see streamChatCompletion).
 */
export type UnderstudyClient = Client<paths, "application/json">;

export interface UnderstudyClientOptions extends Omit<ClientOptions, "baseUrl"> {
  /** The server's root URL, e.g. `http://127.0.0.1:8080`, without `/v1`: the paths carry their prefix. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

export function createUnderstudyClient({ baseUrl, apiKey, headers, ...options }: UnderstudyClientOptions): UnderstudyClient {
  const auth = apiKey === undefined ? undefined : { authorization: `Bearer ${apiKey}` };
  return createClient<paths, "application/json">({ ...options, baseUrl: baseUrl.replace(/\/+$/, ""), headers: mergeHeaders(auth, headers) });
}

/** A non-2xx answer: the HTTP status and the parsed body (OpenAI's `{"error": {...}}` shape on Understudy). */
export class UnderstudyHttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
    super(`HTTP ${status}${typeof message === "string" ? `: ${message}` : ""}`);
    this.name = "UnderstudyHttpError";
  }
}

/**
 * The `data` of each server-sent event of a response body, parsed as JSON, until OpenAI's
 * `[DONE]` marker or the end of the body. Leaving the loop early cancels the body, which tells the
 * server to stop generating.
 */
export async function* serverSentData<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  const pending: string[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event.data) });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        return;
      }
      parser.feed(decoder.decode(value, { stream: true }));
      for (const data of pending.splice(0)) {
        if (data === "[DONE]") return;
        yield JSON.parse(data) as T;
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

type StreamedRequest<T> = Omit<T, "stream">;

/** `POST /v1/chat/completions` with `stream: true`: the chunks, typed. */
export async function* streamChatCompletion(
  client: UnderstudyClient,
  body: StreamedRequest<ChatCompletionRequest>,
  init: { signal?: AbortSignal } = {},
): AsyncGenerator<ChatCompletionChunk> {
  const { data, error, response } = await client.POST("/v1/chat/completions", { body: { ...body, stream: true }, parseAs: "stream", ...init });
  if (!data) throw new UnderstudyHttpError(response.status, error);
  yield* serverSentData<ChatCompletionChunk>(data);
}

/** `POST /v1/completions` with `stream: true`: the chunks, which have the shape of a whole completion. */
export async function* streamCompletion(
  client: UnderstudyClient,
  body: StreamedRequest<CompletionRequest>,
  init: { signal?: AbortSignal } = {},
): AsyncGenerator<Completion> {
  const { data, error, response } = await client.POST("/v1/completions", { body: { ...body, stream: true }, parseAs: "stream", ...init });
  if (!data) throw new UnderstudyHttpError(response.status, error);
  yield* serverSentData<Completion>(data);
}
