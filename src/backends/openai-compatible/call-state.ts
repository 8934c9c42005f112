/**
 * One client request's upstream budget: an AbortController that fires when the client disconnects
 * or the provider's total timeout passes, whichever is first, shared by every attempt.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { ClientAbortError, GatewayTimeoutError } from "../../errors.js";
import type { CallContext } from "../types.js";

export class CallState {
  readonly controller = new AbortController();
  readonly deadline: number;
  private expired = false;
  private readonly timer: NodeJS.Timeout;
  private readonly onClientAbort = () => this.controller.abort();

  constructor(
    readonly ctx: CallContext,
    private readonly providerId: string,
    private readonly totalMs: number,
  ) {
    if (ctx.signal.aborted) throw new ClientAbortError();
    this.deadline = Date.now() + totalMs;
    this.timer = setTimeout(() => {
      this.expired = true;
      this.controller.abort();
    }, totalMs);
    // A stream nobody reads any more must not keep the process alive.
    this.timer.unref();
    ctx.signal.addEventListener("abort", this.onClientAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the call was cut short, if it was: the client left, or the total timeout passed. */
  interrupted(): Error | undefined {
    if (this.ctx.signal.aborted) return new ClientAbortError();
    if (this.expired) return new GatewayTimeoutError(`${this.providerId}: the upstream exchange exceeded the total timeout (${this.totalMs} ms)`);
    return undefined;
  }

  async sleep(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.controller.signal });
    } catch (err) {
      throw this.interrupted() ?? err;
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.ctx.signal.removeEventListener("abort", this.onClientAbort);
  }
}
