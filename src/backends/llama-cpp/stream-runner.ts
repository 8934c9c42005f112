/**
 * Runs a generation in the background and hands its events out as an async iterable. The slot is
 * released when the generation settles (never while llama.cpp still uses the sequence); a
 * consumer that stops early (client gone) aborts the generation.
 */
import { AsyncQueue } from "../async-queue.js";
import type { CallContext } from "../types.js";

export function runStream(
  lease: { release(): void },
  ctx: CallContext,
  produce: (push: (event: unknown) => void, signal: AbortSignal) => Promise<void>,
): AsyncIterable<unknown> {
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  const queue = new AsyncQueue<unknown>(() => stop.abort());
  produce((event) => queue.push(event), signal)
    .then(() => queue.end(), (err) => queue.fail(err))
    .finally(() => lease.release());
  return queue;
}
