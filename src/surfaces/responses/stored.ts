/** Reading stored responses by the id in the path: unknown, deleted, expired or malformed ids are OpenAI's 404. */
import { clipEcho, InvalidRequestError, NotFoundError } from "../../core/errors.js";
import type { HandlerCall } from "../../handlers/types.js";
import type { StoredResponse } from "../../stores/response-store.js";
import { loadResponse } from "./conversation.js";

export const responseNotFound = (id: unknown) => new NotFoundError(`Response with id '${clipEcho(id)}' not found.`, "response_id", "response_not_found");

export async function storedResponse(call: HandlerCall): Promise<StoredResponse> {
  const id = call.params.response_id;
  const stored = await loadResponse(call.services.responses, id);
  if (!stored) throw responseNotFound(id);
  return stored;
}

/** `include` asks for data (logprobs, tool results) this server's responses never hold. */
export function refuseInclude(query: Record<string, unknown>): void {
  const include = query.include ?? query["include[]"];
  const values = Array.isArray(include) ? include : include === undefined || include === "" ? [] : [include];
  if (values.length > 0)
    throw new InvalidRequestError(`'include' ('${clipEcho(values[0])}') is not supported on this server`, "include", "unsupported_parameter");
}
