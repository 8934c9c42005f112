import { ModelNotFoundError } from "../errors.js";
import type { Handler } from "./types.js";

export const retrieveModel: Handler = async (call) => {
  throw new ModelNotFoundError(`The model '${call.params.model}' does not exist`);
};
