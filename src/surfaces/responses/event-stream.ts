/**
 * The frames of a streamed response: response.created and .in_progress at once, the chunks'
 * events as they come, then the items' closing events, the store write, and response.completed
 * (or .incomplete). A failure after the first frame (the backend's, the store's) is
 * response.failed, and the stream ends. Frames are pulled only as the SSE writer asks for them,
 * so its backpressure reaches the backend unchanged; the store is written after the last delta,
 * so it never delays one.
 */
import type { Logger } from "pino";
import type { SseFrame } from "../../core/sse-frame.js";
import { batched, batchesOf, type Batched } from "../../core/async-queue.js";
import { ApiError, ClientAbortError, internalError } from "../../core/errors.js";
import type { ResponseEvents } from "./response-events.js";
import { inResponsesTerms } from "./params.js";

type Body = Record<string, unknown>;
type Step = IteratorResult<readonly SseFrame[]>;

export interface StreamEnd {
  /** Stores the final Response (rejects when the write fails). */
  store(response: Body): Promise<void>;
  requestId: string;
  log: Logger;
}

/** An error as the client may see it; anything not an ApiError is logged and said as an internal error. */
function apiErrorOf(err: unknown, end: StreamEnd): ApiError {
  const translated = inResponsesTerms(err);
  if (translated instanceof ApiError) return translated;
  end.log.error({ err, requestId: end.requestId }, "a streamed response failed");
  return internalError(end.requestId);
}

export function responseFrames(chunks: AsyncIterable<unknown>, events: ResponseEvents, end: StreamEnd): Batched<SseFrame> {
  return batched(() => {
    const batches = batchesOf(chunks);
    let started = false;
    let ended = false;
    const done: Step = { value: undefined, done: true };
    const fail = (err: unknown): Step => {
      if (err instanceof ClientAbortError) throw err;
      ended = true;
      return { value: [events.failed(apiErrorOf(err, end))], done: false };
    };
    const finish = async (): Promise<Step> => {
      ended = true;
      const { frames, response } = events.end();
      try {
        await end.store(response);
      } catch (err) {
        return { value: [...frames, ...fail(err).value!], done: false };
      }
      return { value: [...frames, events.closing(response)], done: false };
    };
    const next = async (): Promise<Step> => {
      if (!started) {
        started = true;
        return { value: events.start(), done: false };
      }
      if (ended) return done;
      for (;;) {
        let step: IteratorResult<readonly unknown[]>;
        try {
          step = await batches.next();
        } catch (err) {
          return fail(err);
        }
        if (step.done) return finish();
        const frames = events.chunks(step.value);
        if (frames.length > 0) return { value: frames, done: false };
      }
    };
    const stop = async (): Promise<Step> => {
      ended = true;
      await batches.return?.();
      return done;
    };
    return { next, return: stop };
  });
}
