/**
 * The chat answer as Sourcegraph's: `{"completion","stopReason"}`, or `completion` events (the
 * accumulated text up to api-version 1, `deltaText` from 2), the last one with `stopReason`. The
 * stream's end (`done`) is the surface's endOfStream. Frames are made a batch of chunks at a time,
 * and every wait for the backend is raced with the deadline, so a backend slow to notice the
 * abort still ends the stream on time.
 */
import type { SseFrame } from "../../core/sse-frame.js";
import { jsonObjectOf } from "../../core/serialized-json.js";
import { batched, batchesOf, type Batched } from "../../core/async-queue.js";
import type { Deadline } from "./deadline.js";
import { ApiError } from "../../core/errors.js";
import { inSourcegraphTerms, NamedError } from "./errors.js";

type Body = Record<string, unknown>;

const noop = () => undefined;

/** The backend's own reason where it gives one (`length`, `content_filter`...); an answer without one stopped (`stop`). */
const stopReasonOf = (finish: unknown): string => (typeof finish === "string" && finish !== "" ? finish : "stop");

export function completionFromChat(result: unknown): Body {
  const chat = jsonObjectOf(result);
  const choice = ((chat.choices as Body[] | undefined) ?? [])[0] ?? {};
  const content = (choice.message as Body | undefined)?.content;
  return { completion: typeof content === "string" ? content : "", stopReason: stopReasonOf(choice.finish_reason) };
}

/** What a batch of the backend's stream says: its text and, when one carries it, the finish reason. */
export interface BatchRead {
  text: string;
  finish?: unknown;
}

/** A batch of chat chunks. */
export function readChatChunks(batch: readonly unknown[]): BatchRead {
  let text = "";
  let finish: unknown;
  for (const raw of batch) {
    const choice = (jsonObjectOf(raw).choices as Body[] | undefined)?.[0];
    if (!choice) continue;
    const delta = (choice.delta as Body | undefined)?.content;
    if (typeof delta === "string") text += delta;
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  return { text, finish };
}

/** `source` (the model) prefixes an error raised mid-stream, as Sourcegraph prefixes its provider's. */
export function completionFrames(
  chunks: AsyncIterable<unknown>,
  read: (batch: readonly unknown[]) => BatchRead,
  { version, deadline, source }: { version: number; deadline: Deadline; source: string },
): Batched<SseFrame> {
  const frame = (delta: string, full: string, stopReason?: string): SseFrame => {
    const data: Body = version >= 2 ? { deltaText: delta } : { completion: full };
    if (stopReason !== undefined) data.stopReason = stopReason;
    return { event: "completion", data };
  };
  return batched(() => {
    const batches = batchesOf(chunks);
    let full = "";
    let finish: unknown;
    let ended = false;
    const fail = async (err: unknown): Promise<never> => {
      // Past the deadline, whatever the backend made of the abort (ClientAbortError, an early end), it is the timeout.
      if (deadline.timedOut) {
        await batches.return?.()?.catch(noop);
        throw new NamedError(source, deadline.error());
      }
      const said = inSourcegraphTerms(err);
      throw said instanceof ApiError ? new NamedError(source, said) : said;
    };
    const next = async (): Promise<IteratorResult<readonly SseFrame[]>> => {
      if (ended) return { value: undefined, done: true };
      for (;;) {
        const step = await deadline.race(batches.next()).catch(fail);
        if (step.done) {
          ended = true;
          return { value: [frame("", full, stopReasonOf(finish))], done: false };
        }
        const said = read(step.value);
        if (said.finish !== undefined) finish = said.finish;
        if (said.text === "") continue;
        full += said.text;
        return { value: [frame(said.text, full)], done: false };
      }
    };
    const stop = async (): Promise<IteratorResult<readonly SseFrame[]>> => {
      await batches.return?.();
      return { value: undefined, done: true };
    };
    return { next, return: stop };
  });
}
