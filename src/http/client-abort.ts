/**
 * A client's disconnect, as the handlers and backends see it. The AbortSignal is made on first use
 * and `onAbort` takes plain listeners: on Node 20 an AbortController with a listener added and
 * removed costs more than all the rest of an upstream call's bookkeeping, and most calls finish
 * without anyone needing either.
 */
import type { ClientDisconnect } from "../core/client-disconnect.js";

const noop = () => undefined;

export class ClientAbort implements ClientDisconnect {
  aborted = false;
  private controller?: AbortController;
  private listeners?: (() => void)[];

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort();
    }
    return this.controller.signal;
  }

  /** Calls `listener` once when the client goes (at once if it has gone); returns the unsubscribe. */
  onAbort(listener: () => void): () => void {
    if (this.aborted) {
      listener();
      return noop;
    }
    (this.listeners ??= []).push(listener);
    return () => {
      const i = this.listeners?.indexOf(listener) ?? -1;
      if (i >= 0) this.listeners!.splice(i, 1);
    };
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller?.abort();
    for (const listener of this.listeners?.splice(0) ?? []) listener();
  }
}
