/**
 * GET /v1/responses/{response_id}/input_items: the items the response was given (its own turn's
 * input, not the earlier turns'), a page at a time: `limit` (1 to 100, default 20), `order`
 * (default desc: newest first), `after` (an item id of the previous page).
 */
import { clipEcho, InvalidRequestError } from "../../core/errors.js";
import { json, type Handler } from "../../handlers/types.js";
import { LIST_LIMIT_DEFAULT, LIST_LIMIT_MAX } from "./limits.js";
import { refuseInclude, storedResponse } from "./stored.js";

function pageSize(raw: unknown): number {
  if (raw === undefined || raw === "") return LIST_LIMIT_DEFAULT;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_LIMIT_MAX)
    throw new InvalidRequestError(`Invalid 'limit': expected an integer from 1 to ${LIST_LIMIT_MAX}, but got ${clipEcho(raw)}.`, "limit", "invalid_value");
  return limit;
}

export const listInputItems: Handler = async (call) => {
  refuseInclude(call.query);
  const limit = pageSize(call.query.limit);
  const order = call.query.order ?? "desc";
  const stored = await storedResponse(call);
  const items = order === "asc" ? [...stored.inputItems] : [...stored.inputItems].reverse();
  let start = 0;
  if (call.query.after !== undefined) {
    const at = items.findIndex((item) => item.id === call.query.after);
    if (at < 0)
      throw new InvalidRequestError(`Invalid 'after': no input item with id '${clipEcho(call.query.after)}' in this response.`, "after", "invalid_value");
    start = at + 1;
  }
  const data = items.slice(start, start + limit);
  return json({
    object: "list",
    data,
    first_id: (data[0]?.id as string | undefined) ?? "",
    last_id: (data.at(-1)?.id as string | undefined) ?? "",
    has_more: start + limit < items.length,
  });
};
