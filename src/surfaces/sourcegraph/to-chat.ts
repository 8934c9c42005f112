/** A Sourcegraph completion request as the internal chat call. */
import type { ChatRequest } from "../../backends/types.js";
import { chatMessages, type SourcegraphMessage } from "./prompt.js";

type Body = Record<string, unknown>;

/** Cody sends -1 (any negative value) for "not set"; zero is a value. */
const isSet = (v: unknown): v is number => typeof v === "number" && v >= 0;

export function toChatRequest(body: Body, version: number): ChatRequest {
  const out: Body = { model: body.model, messages: chatMessages(body.messages as SourcegraphMessage[], version) };
  if (body.maxTokensToSample !== undefined) out.max_tokens = body.maxTokensToSample;
  if (body.temperature !== undefined) out.temperature = body.temperature;
  if (isSet(body.topP)) out.top_p = body.topP;
  if (isSet(body.topK)) out["x-localai-extensions"] = { top_k: body.topK };
  const stops = body.stopSequences as string[] | undefined;
  if (stops !== undefined && stops.length > 0) out.stop = stops;
  if (body.stream === true) out.stream = true;
  return out as unknown as ChatRequest;
}
