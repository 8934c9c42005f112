/**
 * Runs a generation in the background and hands its events out as an async iterable. The slot is
 * released when the generation settles (never while llama.cpp still uses the sequence); a
 * consumer that stops early (client gone) aborts the generation.
 *
 * Text arriving faster than one chunk per BATCH_MS is sent as one chunk holding several tokens:
 * per-token work on the main thread delays llama.cpp's next decode step, and a client cannot tell
 * 10 ms apart. The first text chunk after a pause goes out at once.
 */
import { AsyncQueue } from "../../core/async-queue.js";
import type { CallContext } from "../types.js";

const BATCH_MS = 10;

export interface StreamOut {
  /** Any event, sent in order after the text held so far. */
  push(event: unknown): void;
  /** Generated text of one choice; `build` makes the chunk once the batch is sent. */
  text(index: number, text: string, build: (index: number, text: string) => unknown): void;
}

export function runStream(
  lease: { release(): void },
  ctx: CallContext,
  produce: (out: StreamOut, signal: AbortSignal) => Promise<void>,
): AsyncIterable<unknown> {
  // One controller for both ways a stream stops (the client leaves, the consumer stops reading),
  // without AbortSignal.any: that would also make the client's AbortSignal, which is otherwise never needed.
  const stop = new AbortController();
  const unsubscribe = ctx.client.onAbort(() => stop.abort());
  const queue = new AsyncQueue<unknown>(() => stop.abort());
  const batcher = new TextBatcher((event) => queue.push(event));
  produce(batcher, stop.signal)
    .then(
      () => (batcher.flush(), queue.end()),
      (err) => (batcher.flush(), queue.fail(err)),
    )
    .finally(() => {
      unsubscribe();
      lease.release();
    });
  return queue;
}

class TextBatcher implements StreamOut {
  private held?: { index: number; text: string; build: (index: number, text: string) => unknown };
  private lastText = -Infinity;
  private timer?: NodeJS.Timeout;

  constructor(private readonly emit: (event: unknown) => void) {}

  push(event: unknown): void {
    this.flush();
    this.emit(event);
  }

  text(index: number, text: string, build: (index: number, text: string) => unknown): void {
    if (text === "") return;
    if (this.held && this.held.index === index) {
      this.held.text += text;
      return;
    }
    this.flush();
    const since = performance.now() - this.lastText;
    this.held = { index, text, build };
    if (since >= BATCH_MS) this.flush();
    else this.timer = setTimeout(() => this.flush(), BATCH_MS - since);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.emit(held.build(held.index, held.text));
    this.lastText = performance.now();
  }
}
