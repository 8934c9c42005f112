/** OpenAI's Responses API: `/v1/responses` and its stored responses. (Being built: issue 14.) */
import type { Surface } from "../types.js";
import type { Handler } from "../../handlers/types.js";
import { NotImplementedError } from "../../core/errors.js";
import { openAiErrorFrames, openAiErrorResponse } from "../openai/errors.js";

const pending: Handler = async (call) => {
  throw new NotImplementedError(call.operationId);
};

export const responsesSurface: Surface = {
  name: "responses",
  handlers: { createResponse: pending, getResponse: pending, deleteResponse: pending, listInputItems: pending },
  errorResponse: openAiErrorResponse,
  errorFrames: openAiErrorFrames,
};
