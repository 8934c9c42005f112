/**
 * A stored response as the backends keep it: one JSON text, bounded in size on the way in and
 * checked for shape on the way out (a store shared with others, or an old file, may hold anything).
 */
import { StoreUnavailableError, StoredResponseTooLargeError } from "../core/errors.js";
import { isResponseId, type StoredResponse } from "./response-store.js";

/** The setting that bounds one stored record, named in the error a record over it gets. */
export const MAX_RECORD_BYTES_SETTING = "UNDERSTUDY_RESPONSES_MAX_BYTES";

/** `record` as the JSON text to store; rejects a record over `maxBytes` (UTF-8) before anything is written. */
export function encodeRecord(record: StoredResponse, maxBytes: number): string {
  if (!isResponseId(record.id)) throw new TypeError(`not a response id: '${String(record.id).slice(0, 40)}'`);
  const text = JSON.stringify({ id: record.id, response: record.response, inputItems: record.inputItems, history: record.history });
  // A UTF-16 unit is at most 3 UTF-8 bytes, so only a text longer than a third of the bound needs counting.
  if (text.length > maxBytes / 3) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > maxBytes) throw new StoredResponseTooLargeError(bytes, maxBytes, MAX_RECORD_BYTES_SETTING);
  }
  return text;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The record stored under `id`; a text that is not one is the store's failure, not an unknown id. */
export function decodeRecord(id: string, text: string, backend: string): StoredResponse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StoreUnavailableError(`The ${backend} response store holds a corrupt record`, { cause: err });
  }
  if (!isObject(value) || value.id !== id || !isObject(value.response) || !Array.isArray(value.inputItems) || !Array.isArray(value.history)) {
    throw new StoreUnavailableError(`The ${backend} response store holds a corrupt record`);
  }
  return value as unknown as StoredResponse;
}

/** A backend's failure as the request's error: a short reason for the client, the whole error as `cause`. */
export function storeFailure(backend: string, err: unknown): Error {
  if (err instanceof StoreUnavailableError || err instanceof StoredResponseTooLargeError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const reason = typeof code === "string" && /^[A-Z0-9_]{1,40}$/.test(code) ? code : err instanceof Error ? err.name : "unknown error";
  return new StoreUnavailableError(`The ${backend} response store is unavailable (${reason}); the response could not be read or kept`, { cause: err });
}
