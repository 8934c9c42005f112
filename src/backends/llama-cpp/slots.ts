/**
 * At most `parallel` generations at once per context; up to `queueLimit` more wait in arrival
 * order; beyond that a 429 with Retry-After. A slot is always given back (release is idempotent),
 * and a waiter whose client went away leaves the queue.
 */
import { ClientAbortError, RateLimitError } from "../../core/errors.js";

interface Waiter<T> {
  resolve(slot: T): void;
  reject(err: Error): void;
  signal: AbortSignal;
  onAbort(): void;
}

export interface Lease<T> {
  slot: T;
  release(): void;
}

export class SlotPool<T> {
  private readonly free: T[];
  private readonly waiters: Waiter<T>[] = [];
  /** Slots in all, free or leased. */
  readonly size: number;

  constructor(
    slots: T[],
    private readonly queueLimit: number,
    private readonly retryAfterSeconds = 1,
  ) {
    this.free = [...slots];
    this.size = slots.length;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  get available(): number {
    return this.free.length;
  }

  async acquire(signal: AbortSignal): Promise<Lease<T>> {
    if (signal.aborted) throw new ClientAbortError();
    const slot = this.free.shift();
    if (slot !== undefined) return this.lease(slot);
    if (this.waiters.length >= this.queueLimit) {
      throw new RateLimitError(`The model is busy: ${this.waiters.length} requests are already waiting. Retry shortly.`, this.retryAfterSeconds);
    }
    const granted = await new Promise<T>((resolve, reject) => {
      const waiter: Waiter<T> = {
        resolve,
        reject,
        signal,
        onAbort: () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(new ClientAbortError());
        },
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
      this.waiters.push(waiter);
    });
    return this.lease(granted);
  }

  private lease(slot: T): Lease<T> {
    let released = false;
    return {
      slot,
      release: () => {
        if (released) return;
        released = true;
        this.giveBack(slot);
      },
    };
  }

  private giveBack(slot: T): void {
    const next = this.waiters.shift();
    if (!next) {
      this.free.push(slot);
      return;
    }
    next.signal.removeEventListener("abort", next.onAbort);
    next.resolve(slot);
  }
}
