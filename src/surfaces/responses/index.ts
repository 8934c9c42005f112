/** OpenAI's Responses API: `/v1/responses` and its stored responses, with OpenAI's errors and no end-of-stream frame. */
import type { Surface } from "../types.js";
import { createResponse } from "./createResponse.js";
import { getResponse } from "./getResponse.js";
import { deleteResponse } from "./deleteResponse.js";
import { listInputItems } from "./listInputItems.js";
import { responsesErrorFrames, responsesErrorResponse } from "./errors.js";

export const responsesSurface: Surface = {
  name: "responses",
  handlers: { createResponse, getResponse, deleteResponse, listInputItems },
  errorResponse: responsesErrorResponse,
  errorFrames: responsesErrorFrames,
};
