/**
 * One turn of a stored conversation: what `previous_response_id` brings back (the earlier turns'
 * items), this turn's input items, the chat messages they make, and storing the turn's answer.
 */
import { ApiError, clipEcho, NotFoundError, StoreUnavailableError } from "../../core/errors.js";
import type { HandlerCall } from "../../handlers/types.js";
import { isResponseId, type ResponseStore, type StoredResponse } from "../../stores/response-store.js";
import { newIds, responseIdOfItem, type IdMaker } from "./ids.js";
import { inputItems, type Item } from "./input-items.js";
import { chatMessages } from "./messages.js";
import { instructionMessages } from "./to-chat.js";
import { checkConversation, checkInputItems, checkReferences } from "./limits.js";

type Body = Record<string, unknown>;

export interface Turn {
  readonly ids: IdMaker;
  /** The earlier turns' items (oldest first): stored as this turn's history. */
  readonly history: readonly Item[];
  /** This turn's input items, with ids. */
  readonly input: readonly Item[];
  /** instructions, history and input as chat messages. */
  readonly messages: Body[];
}

const notFound = (id: unknown, param: string) =>
  new NotFoundError(`Previous response with id '${clipEcho(id)}' not found.`, param, "previous_response_not_found");

/** Loads a stored response; undefined for an id this server could not have made. */
export async function loadResponse(store: ResponseStore, id: unknown): Promise<StoredResponse | undefined> {
  return isResponseId(id) ? store.get(id) : undefined;
}

/**
 * Item lookups for `item_reference`s. One stored response is held at a time (references to one
 * response usually come together); the reads and the referenced bytes are bounded (limits.ts).
 */
function itemLookup(store: ResponseStore) {
  let held: { id: string; stored: StoredResponse | undefined } | undefined;
  let reads = 0;
  let bytes = 0;
  return async (itemId: string): Promise<Item | undefined> => {
    const responseId = responseIdOfItem(itemId);
    if (responseId === undefined) return undefined;
    if (held?.id !== responseId) {
      checkReferences(++reads, bytes);
      held = { id: responseId, stored: await store.get(responseId) };
    }
    const stored = held.stored;
    if (!stored) return undefined;
    const output = (stored.response.output as Item[] | undefined) ?? [];
    const item = stored.inputItems.find((i) => i.id === itemId) ?? output.find((i) => i.id === itemId);
    if (item) checkReferences(reads, (bytes += JSON.stringify(item).length));
    return item;
  };
}

/** The earlier turns a previous response continues: its history, its input, its output. */
function historyOf(previous: StoredResponse): Item[] {
  return [...previous.history, ...previous.inputItems, ...((previous.response.output as Item[] | undefined) ?? [])];
}

export async function openTurn(body: Body, store: ResponseStore): Promise<Turn> {
  if (Array.isArray(body.input)) checkInputItems(body.input.length);
  let history: Item[] = [];
  if (body.previous_response_id != null) {
    const previous = await loadResponse(store, body.previous_response_id);
    if (!previous) throw notFound(body.previous_response_id, "previous_response_id");
    history = historyOf(previous);
  }
  const ids = newIds();
  const input = await inputItems(body.input, ids, itemLookup(store));
  checkConversation(history.length + input.length);
  const messages = instructionMessages(body);
  chatMessages(history, () => "previous_response_id", messages);
  chatMessages(input, (i) => `input[${i}]`, messages);
  return { ids, history, input, messages };
}

/** Stores the turn's response unless the request said `store: false`. A failed write fails the request. */
export async function storeTurn(call: HandlerCall, turn: Turn, response: Body): Promise<void> {
  if (response.store === false) return;
  try {
    await call.services.responses.put({ id: turn.ids.responseId, response, inputItems: turn.input, history: turn.history });
  } catch (err) {
    if (err instanceof ApiError) throw err;
    call.log.error({ err, requestId: call.requestId }, "storing a response failed");
    throw new StoreUnavailableError(`The response could not be stored (request id ${call.requestId}); send store: false to answer without storing`, {
      cause: err,
    });
  }
}
