import type { Handler } from "./types.js";
import { createChatCompletion } from "./createChatCompletion.js";
import { createCompletion } from "./createCompletion.js";
import { createEmbedding } from "./createEmbedding.js";
import { listModels } from "./listModels.js";
import { retrieveModel } from "./retrieveModel.js";

/** operationId -> handler. Every other operation of the spec answers 501. */
export const handlers: Readonly<Record<string, Handler>> = {
  createChatCompletion,
  createCompletion,
  createEmbedding,
  listModels,
  retrieveModel,
};
