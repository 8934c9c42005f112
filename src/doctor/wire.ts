/** Raw HTTP for what the SDK hides: the SSE frames of a stream (with `[DONE]`) and the non-OpenAI surfaces. */
import { createParser } from "eventsource-parser";
import { CheckFailure, type CheckContext } from "./check-types.js";

/** A stream longer than this is a failure: the doctor asks for a few tokens, never megabytes. */
export const MAX_STREAM_BYTES = 4 * 1024 * 1024;
/** A body quoted in a failure is cut to this many characters. */
const QUOTE_CHARS = 160;

export interface SseEvent {
  event?: string;
  data: string;
}

export const quote = (text: string) => JSON.stringify(text.length > QUOTE_CHARS ? `${text.slice(0, QUOTE_CHARS)}…` : text);

/** Every event of an SSE response body, in order; fails on a body over MAX_STREAM_BYTES or an SSE syntax error. */
export async function readSse(res: Response): Promise<SseEvent[]> {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("text/event-stream")) throw new CheckFailure(`stream answered content-type ${quote(type)}, not text/event-stream`);
  if (!res.body) throw new CheckFailure("stream has no body");
  const events: SseEvent[] = [];
  const parser = createParser({
    onEvent: (e) => events.push(e.event ? { event: e.event, data: e.data } : { data: e.data }),
    onError: (err) => {
      throw new CheckFailure(`SSE syntax: ${err.message}`);
    },
  });
  const decoder = new TextDecoder();
  let bytes = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    bytes += chunk.byteLength;
    if (bytes > MAX_STREAM_BYTES) throw new CheckFailure(`stream exceeds ${MAX_STREAM_BYTES} bytes`);
    parser.feed(decoder.decode(chunk, { stream: true }));
  }
  parser.feed(decoder.decode());
  return events;
}

export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CheckFailure(`${what} is not JSON: ${quote(text)}`);
  }
}

/** A POST to a path under the root (not /v1), with the client's key as both Bearer and Anthropic/Sourcegraph headers. */
export function post(ctx: Pick<CheckContext, "root" | "key" | "signal">, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${ctx.root}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${ctx.key}`, ...headers },
    body: JSON.stringify(body),
    signal: ctx.signal,
  });
}

/** A JSON body with the expected status, or a failure quoting what came instead. */
export async function jsonBody(res: Response, status: number, what: string): Promise<any> {
  const text = await res.text();
  if (res.status !== status) throw new CheckFailure(`${what}: HTTP ${res.status} ${quote(text)}`);
  return parseJson(text, what);
}
