/** Anthropic's Messages API: `/v1/messages` and its count_tokens, with Anthropic's errors and no end-of-stream frame. */
import type { Surface } from "../types.js";
import { createAnthropicMessage } from "./createAnthropicMessage.js";
import { countAnthropicMessageTokens } from "./countAnthropicMessageTokens.js";
import { anthropicErrorFrames, anthropicErrorResponse } from "./errors.js";

export const anthropicSurface: Surface = {
  name: "anthropic",
  handlers: { createAnthropicMessage, countAnthropicMessageTokens },
  errorResponse: anthropicErrorResponse,
  errorFrames: anthropicErrorFrames,
};
