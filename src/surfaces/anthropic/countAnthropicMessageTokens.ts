/**
 * POST /v1/messages/count_tokens: passed through to a backend that speaks the Messages API, else
 * counted with the backend's tokenizer and chat template (llama-cpp), else a 501: a guess from
 * characters would be a number the client cannot tell from a real count.
 */
import type { AnthropicCountTokensRequest, BackendInstance, CallContext } from "../../backends/types.js";
import { ApiError, clipEcho } from "../../core/errors.js";
import { runInference } from "../../handlers/inference.js";
import { json, type Handler } from "../../handlers/types.js";
import { toCountRequest } from "./to-chat.js";
import { inAnthropicTerms } from "./params.js";
import { nativeContext } from "./native.js";

type Body = Record<string, unknown>;

async function countWithTokenizer(backend: BackendInstance, body: Readonly<Body>, ctx: CallContext): Promise<{ input_tokens: number }> {
  try {
    return { input_tokens: await backend.countTokens!(toCountRequest(body), ctx) };
  } catch (err) {
    throw inAnthropicTerms(err);
  }
}

const cannotCount = (model: string) =>
  new ApiError(
    501,
    "not_implemented",
    `The model '${clipEcho(model)}' cannot count tokens: its backend has no tokenizer here (llama-cpp models and anthropic upstreams count)`,
    null,
    "not_implemented",
  );

export const countAnthropicMessageTokens: Handler = async (call) => {
  const result = await runInference(call, "countAnthropicMessageTokens", (backend, request, ctx) => {
    if (backend.countMessageTokens) return backend.countMessageTokens(request as AnthropicCountTokensRequest, nativeContext(ctx, call.headers));
    if (backend.countTokens) return countWithTokenizer(backend, request, ctx);
    return backend.chat ? Promise.reject(cannotCount(ctx.requestedModel)) : undefined;
  });
  return json(result.kind === "json" ? result.body : undefined, result.headers);
};
