/** A streamed chat completion through the public API, read with fetch + a ReadableStream (no EventSource: it cannot POST). */
import { EventSourceParserStream } from "eventsource-parser/stream";
import { authHeaders, errorOf, HttpError } from "../api";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  max_tokens?: number;
  "x-localai-extensions"?: Record<string, unknown>;
}

/** The debug echo: the registration, backend and merged request as the backend got it. */
export interface DebugEcho {
  registration: string;
  backend: string;
  request: Record<string, unknown>;
}

export interface StreamHandlers {
  onText(delta: string): void;
  onEcho(echo: DebugEcho): void;
}

export interface StreamEnd {
  finish: string | null;
  /** How many chunks carried text: shows the answer really came in pieces. */
  chunks: number;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
}

interface Chunk {
  error?: { message?: string; code?: string };
  "x-localai-debug"?: DebugEcho;
  choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[];
  usage?: StreamEnd["usage"];
}

function apply(chunk: Chunk, handlers: StreamHandlers, end: StreamEnd): void {
  // An error after the stream began arrives as a frame, not as a status.
  if (chunk.error) throw new HttpError(200, chunk.error.message ?? "the stream failed", chunk.error.code ?? null);
  if (chunk["x-localai-debug"]) handlers.onEcho(chunk["x-localai-debug"]);
  const choice = chunk.choices?.[0];
  if (choice?.delta?.content) {
    end.chunks++;
    handlers.onText(choice.delta.content);
  }
  if (choice?.finish_reason) end.finish = choice.finish_reason;
  if (chunk.usage) end.usage = chunk.usage;
}

export async function streamChat(request: ChatRequest, handlers: StreamHandlers, signal: AbortSignal): Promise<StreamEnd> {
  const res = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream", ...authHeaders() },
    body: JSON.stringify({ ...request, stream: true, stream_options: { include_usage: true } }),
    signal,
  });
  if (!res.ok || !res.body) throw await errorOf(res);
  const end: StreamEnd = { finish: null, chunks: 0, usage: null };
  const events = res.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    if (value.data === "[DONE]") break;
    apply(JSON.parse(value.data) as Chunk, handlers, end);
  }
  return end;
}
