/** The OpenAI surface: chat, completions, embeddings and models, with OpenAI's errors and `data: [DONE]`. */
import type { Surface } from "../types.js";
import { createChatCompletion } from "./createChatCompletion.js";
import { createCompletion } from "./createCompletion.js";
import { createEmbedding } from "./createEmbedding.js";
import { listModels } from "./listModels.js";
import { retrieveModel } from "./retrieveModel.js";
import { openAiErrorFrames, openAiErrorResponse } from "./errors.js";

export const openAiSurface: Surface = {
  name: "openai",
  handlers: { createChatCompletion, createCompletion, createEmbedding, listModels, retrieveModel },
  errorResponse: openAiErrorResponse,
  errorFrames: openAiErrorFrames,
  endOfStream: { data: "[DONE]" },
};
