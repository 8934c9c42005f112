/**
 * POST /v1/responses. A backend that speaks the Responses API (`responses`: an openai-compatible
 * upstream with `responses: native`) gets the request as it is and its answer is relayed; any
 * other serves it through `chat`: the conversation (previous_response_id, input items) becomes
 * chat messages, the answer a Response or the Responses events, stored unless `store: false`.
 */
import type { BackendInstance, CallContext } from "../../backends/types.js";
import { runInference } from "../../handlers/inference.js";
import type { Handler, HandlerCall, HandlerResult } from "../../handlers/types.js";
import type { SseFrame } from "../../core/sse-frame.js";
import { isAsyncIterable } from "../../core/async-queue.js";
import { checkRequest, toChatRequest } from "./to-chat.js";
import { openTurn, storeTurn } from "./conversation.js";
import { ResponseObject } from "./response-object.js";
import { answerFromChat } from "./from-chat.js";
import { ResponseEvents } from "./response-events.js";
import { responseFrames } from "./event-stream.js";
import { inResponsesTerms } from "./params.js";

type Body = Record<string, unknown>;

async function throughChat(call: HandlerCall, backend: BackendInstance, body: Readonly<Body>, ctx: CallContext): Promise<unknown> {
  try {
    checkRequest(body);
    const turn = await openTurn(body, call.services.responses);
    const response = new ResponseObject(turn.ids.responseId, ctx.requestedModel, body);
    const answer = await backend.chat!(toChatRequest(body, turn.messages), ctx);
    if (isAsyncIterable(answer)) {
      const store = (final: Body) => storeTurn(call, turn, final);
      return responseFrames(answer, new ResponseEvents(response, turn.ids), { store, requestId: call.requestId, log: call.log });
    }
    const { output, status, incomplete, usage } = answerFromChat(answer, turn.ids);
    const final = response.build(status, output, { usage, incomplete });
    await storeTurn(call, turn, final);
    return final;
  } catch (err) {
    throw inResponsesTerms(err);
  }
}

export const createResponse: Handler = async (call): Promise<HandlerResult> => {
  const result = await runInference(call, "createResponse", (backend, request, ctx) => {
    if (backend.responses) return backend.responses(request, ctx);
    return backend.chat ? throughChat(call, backend, request, ctx) : undefined;
  });
  if (result.kind === "stream") return { kind: "stream", frames: result.chunks as AsyncIterable<SseFrame>, headers: result.headers, onEnd: result.onEnd };
  return { kind: "json", body: result.body, headers: result.headers };
};
