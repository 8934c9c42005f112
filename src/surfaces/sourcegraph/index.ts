/** Sourcegraph's completions API (Cody clients): `/.api/completions/stream` and `/code`, plain-text errors, `event: done`. */
import type { Surface } from "../types.js";
import { createSourcegraphChatCompletion } from "./createSourcegraphChatCompletion.js";
import { createSourcegraphCodeCompletion } from "./createSourcegraphCodeCompletion.js";
import { DONE_FRAME, sourcegraphErrorFrames, sourcegraphErrorResponse } from "./errors.js";

export const sourcegraphSurface: Surface = {
  name: "sourcegraph",
  handlers: { createSourcegraphChatCompletion, createSourcegraphCodeCompletion },
  errorResponse: sourcegraphErrorResponse,
  errorFrames: sourcegraphErrorFrames,
  endOfStream: DONE_FRAME,
};
