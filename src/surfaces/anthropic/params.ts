/** A backend's error about a chat field, said in terms of the Anthropic field the client sent. */
import { ApiError } from "../../core/errors.js";

/** Chat fields the translation writes -> the Anthropic fields they came from. */
const ANTHROPIC_PARAM: Readonly<Record<string, string>> = {
  stop: "stop_sequences",
  "x-localai-extensions.top_k": "top_k",
  user: "metadata.user_id",
  parallel_tool_calls: "tool_choice.disable_parallel_tool_use",
};

export function inAnthropicTerms(err: unknown): unknown {
  if (!(err instanceof ApiError) || err.param === null || !Object.hasOwn(ANTHROPIC_PARAM, err.param)) return err;
  const param = ANTHROPIC_PARAM[err.param];
  const message = err.message.split(`'${err.param}'`).join(`'${param}'`);
  return new ApiError(err.status, err.type, message, param, err.code, err.headers);
}
