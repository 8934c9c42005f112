import { runInference } from "./inference.js";
import type { Handler } from "./types.js";
import type { EmbeddingRequest } from "../backends/types.js";

export const createEmbedding: Handler = (call) =>
  runInference(call, "createEmbedding", (backend, request, ctx) => backend.embeddings?.(request as EmbeddingRequest, ctx));
