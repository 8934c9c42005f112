import { ModelNotFoundError } from "../errors.js";
import type { Handler } from "./types.js";

export const createChatCompletion: Handler = async (call) => {
  throw new ModelNotFoundError(`The model '${call.body.model}' does not exist`);
};
