/** A backend's error about a chat field, said in terms of the Anthropic field the client sent. */
import { inClientTerms } from "../param-names.js";

/** Chat fields the translation writes -> the Anthropic fields they came from. */
const ANTHROPIC_PARAM: Readonly<Record<string, string>> = {
  stop: "stop_sequences",
  "x-localai-extensions.top_k": "top_k",
  user: "metadata.user_id",
  parallel_tool_calls: "tool_choice.disable_parallel_tool_use",
};

export const inAnthropicTerms = (err: unknown): unknown => inClientTerms(err, ANTHROPIC_PARAM);
