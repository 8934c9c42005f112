/**
 * Where stored Responses API responses live (`store: true`, OpenAI's default): what
 * `previous_response_id`, `GET /v1/responses/{id}`, `DELETE` and `input_items` read. One interface,
 * an embedded SQLite file by default and Redis when replicas must share conversations.
 */

/** One stored response: what its turn was given and what it answered. JSON values only. */
export interface StoredResponse {
  /** `resp_...` */
  readonly id: string;
  /** The Response object as it was returned to the client (status completed, incomplete or failed). */
  readonly response: Readonly<Record<string, unknown>>;
  /** This turn's input items, each with its `id`, as `GET /v1/responses/{id}/input_items` lists them (oldest first). */
  readonly inputItems: readonly Readonly<Record<string, unknown>>[];
  /**
   * The items of the earlier turns of the conversation (their inputs and outputs, oldest first):
   * with `inputItems` and the response's `output` it is what a `previous_response_id` continues.
   */
  readonly history: readonly Readonly<Record<string, unknown>>[];
}

export interface ResponseStore {
  /** Stores (or replaces) a response; it expires after the store's TTL. Rejects when the write fails. */
  put(record: StoredResponse): Promise<void>;
  /** The response, or undefined when it is unknown, deleted or expired. */
  get(id: string): Promise<StoredResponse | undefined>;
  /** Whether it existed (and was not expired) before it was deleted. */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
  /** Resolves when the store can be reached now (`GET /ready`); rejects saying why not. Absent: always reachable. */
  healthy?(): Promise<void>;
}

/**
 * Ids reach `get`/`delete` from clients (`GET /v1/responses/{id}`, `previous_response_id`): one
 * longer than this, or not shaped like the ids this server makes, is simply unknown, never looked up.
 */
export const RESPONSE_ID_MAX_CHARS = 128;
const RESPONSE_ID_SHAPE = /^resp_[A-Za-z0-9_-]+$/;

/** Whether `id` could name a stored response (`resp_` then letters, digits, `_`, `-`; at most 128 characters). */
export function isResponseId(id: unknown): id is string {
  return typeof id === "string" && id.length <= RESPONSE_ID_MAX_CHARS && RESPONSE_ID_SHAPE.test(id);
}
