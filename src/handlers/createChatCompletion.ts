import { runInference } from "./inference.js";
import type { Handler } from "./types.js";
import type { ChatRequest } from "../backends/types.js";

export const createChatCompletion: Handler = (call) =>
  runInference(call, "createChatCompletion", (backend, request, ctx) => backend.chat?.(request as ChatRequest, ctx));
