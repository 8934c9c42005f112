/** GET /v1/responses/{response_id}: the stored Response as it was answered. */
import { InvalidRequestError } from "../../core/errors.js";
import { json, type Handler } from "../../handlers/types.js";
import { refuseInclude, storedResponse } from "./stored.js";

export const getResponse: Handler = async (call) => {
  refuseInclude(call.query);
  // Replaying a finished response's events (stream, starting_after) needs them stored; only the Response is.
  if (call.query.stream === true || call.query.stream === "true")
    throw new InvalidRequestError("'stream' is not supported on this server: a stored response is returned whole", "stream", "unsupported_parameter");
  return json((await storedResponse(call)).response);
};
