import { runInference } from "../../handlers/inference.js";
import type { Handler } from "../../handlers/types.js";
import type { EmbeddingRequest } from "../../backends/types.js";
import { openAiResult } from "./results.js";

export const createEmbedding: Handler = async (call) =>
  openAiResult(await runInference(call, "createEmbedding", (backend, request, ctx) => backend.embeddings?.(request as EmbeddingRequest, ctx)));
