/**
 * Bounds of the Responses API surface. A conversation chained by `previous_response_id` grows with
 * every turn and is re-read and re-sent whole each time, so its length is bounded where it is
 * assembled, before any backend work. Its bytes are bounded where it is stored (a record over
 * `UNDERSTUDY_RESPONSES_MAX_BYTES` is refused, src/stores/), and one turn's input by the body limit.
 */
import { describeLimit, envLimit } from "../../core/env-limit.js";
import { InvalidRequestError } from "../../core/errors.js";

export const RESPONSES_LIMITS = {
  /** Items of one request's `input` (messages, function calls and outputs, references). */
  inputItems: envLimit("UNDERSTUDY_RESPONSES_MAX_INPUT_ITEMS", 10_000),
  /** Items of a whole chained conversation (earlier turns' inputs and outputs, and this turn's input). */
  conversationItems: envLimit("UNDERSTUDY_RESPONSES_MAX_CONVERSATION_ITEMS", 10_000),
  /**
   * Stored responses one request's `item_reference`s may read. Each read loads a whole record (up
   * to the store's record bound), one at a time; a long agent conversation replayed with references
   * names one response per earlier turn.
   */
  referencedResponses: envLimit("UNDERSTUDY_RESPONSES_MAX_REFERENCED_RESPONSES", 1_000),
  /** JSON bytes of the items `item_reference`s bring in: the same item named a thousand times is a thousand copies sent on. */
  referencedBytes: envLimit("UNDERSTUDY_RESPONSES_MAX_REFERENCED_BYTES", 16 * 1024 * 1024),
};

/** `input_items`' page size (OpenAI's bounds). */
export const LIST_LIMIT_DEFAULT = 20;
export const LIST_LIMIT_MAX = 100;

export function checkInputItems(count: number): void {
  const limit = RESPONSES_LIMITS.inputItems;
  if (count > limit.value)
    throw new InvalidRequestError(`'input' has ${count} items; at most ${describeLimit(limit, "items")} are taken`, "input", "too_many_input_items");
}

export function checkConversation(items: number): void {
  const limit = RESPONSES_LIMITS.conversationItems;
  if (items > limit.value)
    throw new InvalidRequestError(
      `The conversation would have ${items} items; at most ${describeLimit(limit, "items")} are taken. Start a new conversation`,
      "previous_response_id",
      "conversation_too_long",
    );
}

export function checkReferences(responses: number, bytes: number): void {
  const { referencedResponses, referencedBytes } = RESPONSES_LIMITS;
  if (responses > referencedResponses.value)
    throw new InvalidRequestError(
      `'input' references items of more than ${describeLimit(referencedResponses, "stored responses")}`,
      "input",
      "too_many_item_references",
    );
  if (bytes > referencedBytes.value)
    throw new InvalidRequestError(
      `The items 'input' references come to more than ${describeLimit(referencedBytes, "bytes")}`,
      "input",
      "too_many_item_references",
    );
}
