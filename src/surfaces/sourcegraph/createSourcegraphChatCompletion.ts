/** POST /.api/completions/stream: chat, on the client's model or the default (fast) chat model. */
import type { Handler } from "../../handlers/types.js";
import { complete } from "./complete.js";

export const createSourcegraphChatCompletion: Handler = (call) => complete(call, "createSourcegraphChatCompletion");
