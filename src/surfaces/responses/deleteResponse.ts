/** DELETE /v1/responses/{response_id}: forgets a stored response (its input items and history go with it). */
import { isResponseId } from "../../stores/response-store.js";
import { json, type Handler } from "../../handlers/types.js";
import { responseNotFound } from "./stored.js";

export const deleteResponse: Handler = async (call) => {
  const id = call.params.response_id;
  if (!isResponseId(id) || !(await call.services.responses.delete(id))) throw responseNotFound(id);
  return json({ id, object: "response", deleted: true });
};
