import { runInference } from "./inference.js";
import type { Handler } from "./types.js";
import type { CompletionRequest } from "../backends/types.js";

export const createCompletion: Handler = (call) =>
  runInference(call, "createCompletion", (backend, request, ctx) => backend.completion?.(request as CompletionRequest, ctx));
