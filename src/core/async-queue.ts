/**
 * Streams of events that can be taken a batch at a time. A stream's consumer (the SSE writer) awaits
 * once per batch (everything one network read or one burst of generation produced) instead of once
 * per event: each await of an async iterator costs a promise and a turn of the microtask queue,
 * repeated across every layer an event passes through.
 */
export const BATCHES: unique symbol = Symbol("understudy.batches");

/** An event stream that also hands its events out in batches (never empty). Iterate it one way only. */
export interface Batched<T> extends AsyncIterable<T> {
  [BATCHES](): AsyncIterator<readonly T[]>;
}

/** A backend answer that is a stream (of chunks or frames) rather than one JSON answer. */
export const isAsyncIterable = (v: unknown): v is AsyncIterable<unknown> => typeof v === "object" && v !== null && Symbol.asyncIterator in v;

const isBatched = <T>(events: AsyncIterable<T>): events is Batched<T> => BATCHES in events;

/** The batches of `events`: its own when it has them, else one event per batch. */
export function batchesOf<T>(events: AsyncIterable<T>): AsyncIterator<readonly T[]> {
  if (isBatched(events)) return events[BATCHES]();
  const it = events[Symbol.asyncIterator]();
  return {
    next: async () => {
      const step = await it.next();
      return step.done ? { value: undefined, done: true } : { value: [step.value], done: false };
    },
    return: async () => {
      await it.return?.();
      return { value: undefined, done: true };
    },
  };
}

/** A batched stream from a function that makes its batch iterator (called once, by whichever way it is read). */
export function batched<T>(open: () => AsyncIterator<readonly T[]>): Batched<T> {
  return {
    [BATCHES]: open,
    [Symbol.asyncIterator]: () => eachOf(open()),
  };
}

async function* eachOf<T>(batches: AsyncIterator<readonly T[]>): AsyncGenerator<T> {
  try {
    for (let step = await batches.next(); !step.done; step = await batches.next()) yield* step.value;
  } finally {
    await batches.return?.();
  }
}

/**
 * A push-to-pull bridge: a producer (callbacks of a running generation) pushes items; a consumer
 * iterates, one item or (BATCHES) everything pushed since its last read at a time. `fail` ends the
 * iteration with an error; the consumer stopping early calls `onCancel`.
 */
export class AsyncQueue<T> implements Batched<T> {
  private items: T[] = [];
  private waiting?: () => void;
  protected ended = false;
  private error: unknown;

  constructor(private readonly onCancel: () => void = () => {}) {}

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    if (this.waiting) {
      const wake = this.waiting;
      this.waiting = undefined;
      // Woken now, taken when the consumer runs: items pushed meanwhile join the same batch.
      wake();
    }
  }

  end(): void {
    this.finish(undefined);
  }

  fail(error: unknown): void {
    this.finish(error ?? new Error("stream failed"));
  }

  private finish(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (this.waiting) {
      const wake = this.waiting;
      this.waiting = undefined;
      wake();
    }
  }

  /** Everything pushed and not yet taken; undefined at the end (rejects with the failure). */
  private async take(): Promise<T[] | undefined> {
    if (this.items.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.waiting = resolve));
    if (this.items.length > 0) {
      const items = this.items;
      this.items = [];
      this.taken();
      return items;
    }
    if (this.error) throw this.error;
    return undefined;
  }

  /** Called whenever the consumer has taken everything pushed so far (a subclass may resume its producer). */
  protected taken(): void {}

  /** The consumer stopped early: nothing more is taken, and the producer is told through `onCancel`. */
  protected cancel(): void {
    if (this.ended) return;
    this.ended = true;
    this.items = [];
    this.onCancel();
  }

  [BATCHES](): AsyncIterator<readonly T[]> {
    return {
      next: async () => {
        const items = await this.take();
        return items ? { value: items, done: false } : { value: undefined, done: true };
      },
      return: async () => {
        this.cancel();
        return { value: undefined, done: true };
      },
    };
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    let held: readonly T[] = [];
    let at = 0;
    return {
      next: async () => {
        if (at === held.length) {
          const items = await this.take();
          if (!items) return { value: undefined, done: true };
          held = items;
          at = 0;
        }
        return { value: held[at++], done: false };
      },
      return: async () => {
        this.cancel();
        return { value: undefined, done: true };
      },
    };
  }
}
