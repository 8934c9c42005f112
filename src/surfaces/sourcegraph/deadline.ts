/**
 * `timeoutMs`: the client's disconnect or the end of its time budget, whichever comes first, as
 * the one ClientDisconnect the backend listens to. Either stops the backend's work the same way
 * (an upstream's request is aborted, a local generation stopped); `timedOut` tells them apart, so
 * the surface answers 504 or an error event for the one and nothing for the other.
 */
import type { ClientDisconnect } from "../../core/client-disconnect.js";
import { GatewayTimeoutError } from "../../core/errors.js";

const noop = () => undefined;

export class Deadline implements ClientDisconnect {
  private fired = false;
  private expired = false;
  private controller?: AbortController;
  private readonly listeners = new Set<() => void>();
  private readonly timer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;
  /** The wait `race` is in, if any: only the current one is held, not one per wait of a long stream. */
  private rejectWait?: (err: Error) => void;

  constructor(
    client: ClientDisconnect,
    private readonly ms: number | undefined,
  ) {
    this.unsubscribe = client.onAbort(() => this.fire());
    if (ms !== undefined) {
      this.timer = setTimeout(() => {
        this.expired = true;
        this.fire();
        this.rejectWait?.(this.error());
      }, ms);
      this.timer.unref();
    }
  }

  get aborted(): boolean {
    return this.fired;
  }

  get timedOut(): boolean {
    return this.expired;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.fired) this.controller.abort();
    }
    return this.controller.signal;
  }

  onAbort(listener: () => void): () => void {
    if (this.fired) {
      listener();
      return noop;
    }
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /**
   * The backend's answer, or the 504 as soon as the time is up: a backend slow to notice the abort
   * still ends on time. Without `timeoutMs`, the answer itself.
   */
  race<T>(pending: Promise<T>): Promise<T> {
    if (this.ms === undefined) return pending;
    if (this.expired) return Promise.reject(this.error());
    return new Promise<T>((resolve, reject) => {
      this.rejectWait = reject;
      pending.then(resolve, reject).finally(() => {
        if (this.rejectWait === reject) this.rejectWait = undefined;
      });
    });
  }

  error(): GatewayTimeoutError {
    return new GatewayTimeoutError(`The completion took longer than timeoutMs (${this.ms} ms)`);
  }

  /** The request is over: the timer and the subscription go. */
  dispose(): void {
    clearTimeout(this.timer);
    this.unsubscribe();
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    clearTimeout(this.timer);
    this.controller?.abort();
    for (const listener of [...this.listeners]) listener();
    this.listeners.clear();
  }
}
