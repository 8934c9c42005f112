/**
 * Ids of responses and of their items. An item id carries its response's key, so an
 * `item_reference` (what the Vercel AI SDK sends for an earlier answer when responses are stored)
 * finds its stored response without an index of items: `msg_<key><n>` belongs to `resp_<key>`.
 */
import { randomBytes } from "node:crypto";

/** 12 random bytes as base64url: 16 characters. */
const KEY_CHARS = 16;
const newKey = () => randomBytes(12).toString("base64url");

export const RESPONSE_PREFIX = "resp_";

/** Item kinds and their id prefixes (OpenAI's). */
export type ItemKind = "msg" | "fc" | "fco";

export interface IdMaker {
  readonly responseId: string;
  /** The next item id of this response, `<kind>_<key><n>`. */
  item(kind: ItemKind): string;
}

export function newIds(): IdMaker {
  const key = newKey();
  let n = 0;
  return { responseId: RESPONSE_PREFIX + key, item: (kind) => `${kind}_${key}${n++}` };
}

/** The response an item id was minted for, or undefined for an id this server did not make. */
export function responseIdOfItem(itemId: string): string | undefined {
  const match = /^(?:msg|fc|fco)_([A-Za-z0-9_-]{16})\d+$/.exec(itemId);
  return match && match[1].length === KEY_CHARS ? RESPONSE_PREFIX + match[1] : undefined;
}
