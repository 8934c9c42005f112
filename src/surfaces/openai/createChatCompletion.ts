import { runInference } from "../../handlers/inference.js";
import type { Handler } from "../../handlers/types.js";
import type { ChatRequest } from "../../backends/types.js";
import { openAiResult } from "./results.js";

export const createChatCompletion: Handler = async (call) =>
  openAiResult(await runInference(call, "createChatCompletion", (backend, request, ctx) => backend.chat?.(request as ChatRequest, ctx)));
