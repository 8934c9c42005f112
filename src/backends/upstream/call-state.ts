/**
 * One client request's upstream budget: a signal that fires when the client disconnects or the
 * provider's total timeout passes, whichever is first, shared by every attempt.
 *
 * The signal is an EventEmitter, which undici accepts as a request signal, and the client's
 * disconnect is heard through ctx.client.onAbort: AbortSignals and their listeners cost more than the rest
 * of the call's bookkeeping.
 */
import { EventEmitter } from "node:events";
import { ClientAbortError, GatewayTimeoutError } from "../../core/errors.js";
import type { CallContext } from "../types.js";

export class UpstreamSignal extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit("abort");
  }
}

export class CallState {
  readonly signal = new UpstreamSignal();
  readonly deadline: number;
  private expired = false;
  private clientGone = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    readonly ctx: CallContext,
    private readonly providerId: string,
    private readonly totalMs: number,
  ) {
    this.unsubscribe = ctx.client.onAbort(() => {
      this.clientGone = true;
      this.signal.abort();
    });
    if (this.clientGone) throw new ClientAbortError();
    this.deadline = Date.now() + totalMs;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.signal.abort();
    }, totalMs);
    // A stream nobody reads any more must not keep the process alive.
    this.timer.unref();
  }

  /** Why the call was cut short, if it was: the client left, or the total timeout passed. */
  interrupted(): Error | undefined {
    if (this.clientGone) return new ClientAbortError();
    if (this.expired) return new GatewayTimeoutError(`${this.providerId}: the upstream exchange exceeded the total timeout (${this.totalMs} ms)`);
    return undefined;
  }

  /** Waits `ms` between attempts; the client leaving or the total timeout ends the wait early. */
  async sleep(ms: number): Promise<void> {
    if (!this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.signal.off("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        this.signal.once("abort", done);
      });
    }
    const interrupted = this.interrupted();
    if (interrupted) throw interrupted;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unsubscribe();
  }
}
