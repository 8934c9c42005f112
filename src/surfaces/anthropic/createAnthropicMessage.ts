/**
 * POST /v1/messages. A backend that speaks the Messages API (`messages`: an anthropic upstream)
 * gets the request as it is and its answer is relayed; any other serves it through `chat`, the
 * request and the answer translated (to-chat.ts, from-chat.ts, message-events.ts).
 */
import type { AnthropicMessageRequest, BackendInstance, CallContext } from "../../backends/types.js";
import { runInference } from "../../handlers/inference.js";
import type { Handler, HandlerResult } from "../../handlers/types.js";
import type { SseFrame } from "../../core/sse-frame.js";
import { toChatRequest } from "./to-chat.js";
import { messageFromChat } from "./from-chat.js";
import { MessageEvents } from "./message-events.js";
import { messageFrames } from "./event-stream.js";
import { inAnthropicTerms } from "./params.js";
import { nativeContext } from "./native.js";
import { isAsyncIterable } from "../../core/async-queue.js";

type Body = Record<string, unknown>;

async function throughChat(backend: BackendInstance, body: Readonly<Body>, ctx: CallContext): Promise<unknown> {
  try {
    const answer = await backend.chat!(toChatRequest(body), ctx);
    const stops = body.stop_sequences as string[] | undefined;
    if (isAsyncIterable(answer)) return messageFrames(answer, new MessageEvents(ctx.requestedModel, stops));
    return messageFromChat(answer, ctx.requestedModel, stops);
  } catch (err) {
    throw inAnthropicTerms(err);
  }
}

export const createAnthropicMessage: Handler = async (call): Promise<HandlerResult> => {
  const result = await runInference(call, "createAnthropicMessage", (backend, request, ctx) => {
    if (backend.messages) return backend.messages(request as AnthropicMessageRequest, nativeContext(ctx, call.headers));
    return backend.chat ? throughChat(backend, request, ctx) : undefined;
  });
  if (result.kind === "stream") return { kind: "stream", frames: result.chunks as AsyncIterable<SseFrame>, headers: result.headers, onEnd: result.onEnd };
  return { kind: "json", body: result.body, headers: result.headers };
};
