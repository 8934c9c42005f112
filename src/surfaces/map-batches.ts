/**
 * Chunks become a surface's frames a batch at a time: one map call and one await per batch (one
 * network read, one burst of generation), not per chunk. A per-chunk async generator here cost
 * measurable CPU per streamed request (`node bench/run.mjs gateway`).
 */
import { batched, batchesOf, type Batched } from "../core/async-queue.js";

/** `map` gets each batch (never empty) and may answer any number of frames; an empty answer is skipped. */
export function mapBatches<T, U>(events: AsyncIterable<T>, map: (batch: readonly T[]) => U[]): Batched<U> {
  return batched(() => {
    const batches = batchesOf(events);
    const next = async (): Promise<IteratorResult<readonly U[]>> => {
      for (;;) {
        const step = await batches.next();
        if (step.done) return { value: undefined, done: true };
        const mapped = map(step.value);
        if (mapped.length > 0) return { value: mapped, done: false };
      }
    };
    const stop = async (): Promise<IteratorResult<readonly U[]>> => {
      await batches.return?.();
      return { value: undefined, done: true };
    };
    return { next, return: stop };
  });
}
