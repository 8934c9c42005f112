/**
 * A request's `input` as the conversation's items, in the shapes `input_items` lists them
 * (InputMessageResource, OutputMessage, FunctionToolCallResource, FunctionToolCallOutputResource),
 * each with its own id. Stored, these are also what a later `previous_response_id` continues from.
 * References to earlier items (`item_reference`) are replaced by copies of the items they name.
 */
import { clipEcho, InvalidRequestError, NotFoundError } from "../../core/errors.js";
import type { IdMaker } from "./ids.js";

export type Item = Record<string, unknown>;
type Part = Record<string, unknown>;

/** Looks up an item this server stored earlier, by its id (undefined: unknown or expired). */
export type ItemLookup = (id: string) => Promise<Item | undefined>;

export const refuse = (param: string, why: string) => new InvalidRequestError(`'${param}' ${why}`, param, "unsupported_parameter");

const isReference = (item: Item) => item.type === "item_reference" || (item.type == null && item.role === undefined && typeof item.id === "string");

const outputText = (text: string): Part => ({ type: "output_text", text, annotations: [], logprobs: [] });

/** Assistant content as output parts: what an OutputMessage holds. */
function assistantParts(content: unknown, param: string): Part[] {
  if (typeof content === "string") return [outputText(content)];
  return (content as Part[]).map((part, j) => {
    if (part.type === "output_text" || part.type === "input_text") return outputText(String(part.text ?? ""));
    if (part.type === "refusal") return { type: "refusal", refusal: String(part.refusal ?? "") };
    throw refuse(`${param}.content[${j}]`, `(a '${String(part.type)}' part) cannot be part of an assistant message`);
  });
}

/** User, system and developer content as input parts; images by file id or files need a file store this server does not have. */
function inputParts(content: unknown, param: string): Part[] {
  if (typeof content === "string") return [{ type: "input_text", text: content }];
  return (content as Part[]).map((part, j) => {
    const at = `${param}.content[${j}]`;
    if (part.type === "input_text") return { type: "input_text", text: String(part.text ?? "") };
    if (part.type === "input_image") {
      if (typeof part.image_url !== "string")
        throw refuse(`${at}.file_id`, "(an image by file id) is not supported: give the image as image_url (a URL or a data: URL)");
      return { type: "input_image", image_url: part.image_url, detail: part.detail ?? "auto" };
    }
    throw refuse(at, `(a '${String(part.type)}' part) is not supported: only input_text and input_image parts are`);
  });
}

function messageItem(item: Item, param: string, ids: IdMaker): Item {
  const role = item.role;
  if (role === "assistant") return { id: ids.item("msg"), type: "message", role, status: "completed", content: assistantParts(item.content, param) };
  return { id: ids.item("msg"), type: "message", role, status: "completed", content: inputParts(item.content, param) };
}

function functionOutput(output: unknown, param: string): unknown {
  if (typeof output === "string") return output;
  return (output as Part[]).map((part, j) => {
    if (part.type === "input_text") return { type: "input_text", text: String(part.text ?? "") };
    throw refuse(`${param}.output[${j}]`, `(a '${String(part.type)}' part) is not supported in a function call's output: only input_text is`);
  });
}

/** One client item as the item stored (a new id; references are resolved by the caller). */
export function itemOf(item: Item, param: string, ids: IdMaker): Item {
  switch (item.type ?? "message") {
    case "message":
      return messageItem(item, param, ids);
    case "function_call":
      return { id: ids.item("fc"), type: "function_call", call_id: item.call_id, name: item.name, arguments: item.arguments, status: "completed" };
    case "function_call_output":
      return { id: ids.item("fco"), type: "function_call_output", call_id: item.call_id, output: functionOutput(item.output, param), status: "completed" };
    default:
      throw refuse(param, `(a '${String(item.type)}' item) is not supported: only message, function_call, function_call_output and item_reference items are`);
  }
}

/** The request's input as items with ids: a string is one user message; references become copies of what they name. */
export async function inputItems(input: unknown, ids: IdMaker, lookup: ItemLookup): Promise<Item[]> {
  if (input === undefined || input === null) return [];
  if (typeof input === "string") return [itemOf({ role: "user", content: input }, "input", ids)];
  const out: Item[] = [];
  const list = input as Item[];
  for (let i = 0; i < list.length; i++) {
    const param = `input[${i}]`;
    let item = list[i];
    if (isReference(item)) {
      const found = await lookup(String(item.id));
      if (found === undefined) throw new NotFoundError(`Item with id '${clipEcho(item.id)}' not found.`, `${param}.id`, "item_not_found");
      item = found;
    }
    out.push(itemOf(item, param, ids));
  }
  return out;
}
