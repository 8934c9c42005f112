/**
 * A streaming upstream exchange on undici's dispatch API, like the non-streaming one (text-exchange.ts).
 * undici's request() would wrap the body in a Readable read through an async iterator: per network
 * read a push, a read and a promise, and per response a stream with its listeners. Here undici's
 * onData hands each read to a queue that the SSE reader takes a batch at a time.
 *
 * Backpressure: past BODY_HIGH_WATER_BYTES not yet taken, onData answers false and undici stops
 * reading the socket until the reader takes the queue (then `resume`). So a client that reads
 * slowly holds the upstream back, as before (the SSE writer pulls only once the client has drained).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { AsyncQueue } from "../../core/async-queue.js";
import type { UpstreamSignal } from "./call-state.js";
import { announcedLength, ERROR_BODY_BYTES, readCapped, responseTooLarge } from "./response-limits.js";
import { AbortedError, parseHeaders, type UpstreamResponse } from "./text-exchange.js";

/** Unread body held before the socket is paused: what undici's request() Readable held (its highWaterMark). */
const BODY_HIGH_WATER_BYTES = 64 * 1024;

/**
 * A streamed body: undici pushes reads, the reader takes them (all that arrived since it last took),
 * through AsyncQueue; what is added here is the socket's pause and resume.
 */
export class StreamBody extends AsyncQueue<Buffer> {
  private bytes = 0;
  private paused = false;
  /** undici's: continue reading the socket. */
  resume?: () => void;
  /** undici's: abort the request (drops the connection). */
  abortRequest?: (err: Error) => void;

  constructor() {
    // The reader stopping before the end drops the connection.
    super(() => this.abortRequest?.(new AbortedError()));
  }

  /** From onData: false asks undici to pause until the reader takes what is held. */
  offer(chunk: Buffer): boolean {
    if (this.ended) return true;
    this.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes < BODY_HIGH_WATER_BYTES) return true;
    this.paused = true;
    return false;
  }

  /** The reader is done with the body: if it has not ended, the connection is dropped. */
  destroy(): void {
    this.cancel();
  }

  protected override taken(): void {
    this.bytes = 0;
    if (this.paused) {
      this.paused = false;
      this.resume?.();
    }
  }
}

/** A streaming request's response: its body is read as the SSE reader pulls it. */
export class StreamedResponse implements UpstreamResponse {
  private parsed?: IncomingHttpHeaders;

  constructor(
    readonly statusCode: number,
    private readonly raw: Buffer[],
    readonly body: StreamBody,
    private readonly maxBytes: number,
    private readonly providerId: string,
  ) {}

  get headers(): IncomingHttpHeaders {
    return (this.parsed ??= parseHeaders(this.raw));
  }

  text(): Promise<string> {
    const { body, statusCode } = this;
    if (statusCode < 200 || statusCode >= 300) return readCapped(body, ERROR_BODY_BYTES, "truncate");
    const tooLarge = () => responseTooLarge(this.providerId, this.maxBytes);
    if ((announcedLength(this.headers) ?? 0) > this.maxBytes) {
      body.destroy();
      return Promise.reject(tooLarge());
    }
    return readCapped(body, this.maxBytes, tooLarge);
  }
}

/** Sends the request; resolves at the response's headers, its body to be read from `body`. */
export function exchangeStream(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: UpstreamSignal,
  maxBytes: number,
  providerId: string,
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError());
    const body = new StreamBody();
    let started = false;
    const onAbort = () => body.abortRequest?.(new AbortedError());
    // Listened to until the body ends: the client leaving or the total timeout cuts the stream too.
    signal.once("abort", onAbort);
    const settle = (err?: unknown) => {
      signal.off("abort", onAbort);
      if (!started) reject(err);
      else if (err === undefined) body.end();
      else body.fail(err);
    };
    dispatcher.dispatch(options, {
      onConnect: (abort) => {
        body.abortRequest = abort;
        if (signal.aborted) abort(new AbortedError());
      },
      onHeaders: (statusCode, raw, resume) => {
        started = true;
        if (statusCode >= 200 && statusCode < 300) signal.firstByte();
        body.resume = resume;
        resolve(new StreamedResponse(statusCode, raw, body, maxBytes, providerId));
        return true;
      },
      onData: (chunk) => body.offer(chunk),
      onComplete: () => settle(),
      onError: (err) => settle(err),
    });
  });
}
