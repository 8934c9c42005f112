import { runInference } from "../../handlers/inference.js";
import type { Handler } from "../../handlers/types.js";
import type { CompletionRequest } from "../../backends/types.js";
import { openAiResult } from "./results.js";

export const createCompletion: Handler = async (call) =>
  openAiResult(await runInference(call, "createCompletion", (backend, request, ctx) => backend.completion?.(request as CompletionRequest, ctx)));
