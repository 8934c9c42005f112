/**
 * One client request's upstream budget: a signal that fires when the client disconnects, the
 * provider's total timeout passes or the first-byte timeout passes before a 2xx answer's headers,
 * whichever is first, shared by every attempt.
 *
 * The first-byte timeout is timed here, with Node's own timer, from the start of the call across
 * every attempt: undici's headersTimeout (kept as a backstop) runs on its 1 s-resolution fast
 * timer, which fires up to ~1 s late, and restarts on every retry, so a 15 s first-byte timeout
 * with the default 3 attempts answered after 30-45 s. Quick failures (refused, 5xx, 429) are
 * still retried within the budget; a timed-out attempt ends the call with a 504.
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
  /** The first-byte timer while it runs (CallState's). */
  firstByteTimer: NodeJS.Timeout | undefined = undefined;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit("abort");
  }

  /** Called by the exchanges at a 2xx answer's headers: the first-byte timer stops. */
  firstByte(): void {
    if (this.firstByteTimer === undefined) return;
    clearTimeout(this.firstByteTimer);
    this.firstByteTimer = undefined;
  }
}

export class CallState {
  readonly signal = new UpstreamSignal();
  readonly deadline: number;
  private expired = false;
  private firstByteExpired = false;
  private clientGone = false;
  private readonly timer: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    readonly ctx: CallContext,
    private readonly providerId: string,
    private readonly totalMs: number,
    /** Absent or not below totalMs: only the total timeout bounds the wait for the first byte. */
    private readonly firstByteMs?: number,
  ) {
    this.unsubscribe = ctx.client.onAbort(() => {
      this.clientGone = true;
      this.signal.abort();
    });
    if (this.clientGone) throw new ClientAbortError();
    this.deadline = Date.now() + totalMs;
    // The timers get the call as an argument: no closure per timer per call.
    this.timer = setTimeout(CallState.expireTotal, totalMs, this);
    // A stream nobody reads any more must not keep the process alive.
    this.timer.unref();
    if (firstByteMs !== undefined && firstByteMs < totalMs) {
      const timer = setTimeout(CallState.expireFirstByte, firstByteMs, this);
      timer.unref();
      this.signal.firstByteTimer = timer;
    }
  }

  private static expireTotal(call: CallState): void {
    call.expired = true;
    call.signal.abort();
  }

  private static expireFirstByte(call: CallState): void {
    call.signal.firstByteTimer = undefined;
    call.firstByteExpired = true;
    call.signal.abort();
  }

  /** Why the call was cut short, if it was: the client left, or the total timeout passed. */
  interrupted(): Error | undefined {
    if (this.clientGone) return new ClientAbortError();
    if (this.expired) return new GatewayTimeoutError(`${this.providerId}: the upstream exchange exceeded the total timeout (${this.totalMs} ms)`);
    if (this.firstByteExpired)
      return new GatewayTimeoutError(`${this.providerId}: the upstream did not respond in time (first byte timeout, ${this.firstByteMs} ms)`);
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
    this.signal.firstByte();
    this.unsubscribe();
  }
}
