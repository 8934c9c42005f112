/**
 * The client's disconnect, as handlers and backends see it. `signal` is made on first use;
 * `onAbort` is the cheap way to listen: `listener` runs once (at once if the client has already
 * gone), and the returned function unsubscribes.
 */
export interface ClientDisconnect {
  readonly aborted: boolean;
  readonly signal: AbortSignal;
  onAbort(listener: () => void): () => void;
}
