/**
 * A non-streaming upstream exchange on undici's dispatch API, read whole (up to a cap) as text. undici's
 * request() wraps every response in a Readable and parses all its headers up front; a JSON answer
 * needs neither, so headers are parsed only if something asks for them (errors, debug logs).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import type { UpstreamSignal } from "./call-state.js";
import { announcedLengthRaw, ERROR_BODY_BYTES, responseTooLarge } from "./response-limits.js";
import { undici } from "./undici-module.js";

export const parseHeaders = (raw: Buffer[]) => undici().util.parseHeaders(raw) as IncomingHttpHeaders;

/** What the retry loop reads of any upstream response: status, headers, the body as text. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body as text: of a non-2xx answer at most ERROR_BODY_BYTES (the rest is never read), of
   * any other at most the provider's max_response_bytes (beyond it, a 502 upstream_protocol_error).
   */
  text(): Promise<string>;
}

class TextResponse implements UpstreamResponse {
  private parsed?: IncomingHttpHeaders;

  constructor(
    readonly statusCode: number,
    private readonly raw: Buffer[],
    private readonly body: string,
  ) {}

  text(): Promise<string> {
    return Promise.resolve(this.body);
  }

  get headers(): IncomingHttpHeaders {
    return (this.parsed ??= parseHeaders(this.raw));
  }
}

/** What undici's request() rejects with when its signal fires (UND_ERR_ABORTED). */
export class AbortedError extends Error {
  readonly code = "UND_ERR_ABORTED";
  constructor() {
    super("Request aborted");
  }
}

/** Thrown inside the handler to stop reading an error body once enough of it is in. */
class EnoughRead extends Error {}
const ENOUGH = new EnoughRead();

/**
 * undici's handler for one exchange. A class, not an object of closures: one object per exchange
 * where the closures were nine (a handler object, its five methods, the abort listener and helpers).
 */
class TextExchange implements Dispatcher.DispatchHandler {
  private abort: ((err?: Error) => void) | undefined;
  private status = 0;
  private raw: Buffer[] = [];
  private limit: number;
  private failed = false;
  private size = 0;
  private readonly chunks: Buffer[] = [];
  /** The signal's listener (`on`, not `once`, which would wrap it: settle removes it). */
  private readonly onAbort = () => this.abort?.(new AbortedError());

  constructor(
    private readonly signal: UpstreamSignal,
    private readonly maxBytes: number,
    private readonly providerId: string,
    private readonly resolve: (res: UpstreamResponse) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    this.limit = maxBytes;
    signal.on("abort", this.onAbort);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.signal.aborted) abort(new AbortedError());
  }

  onHeaders(statusCode: number, headers: Buffer[]): boolean {
    this.status = statusCode;
    this.raw = headers;
    const failed = statusCode < 200 || statusCode >= 300;
    this.failed = failed;
    if (!failed) this.signal.firstByte();
    if (failed) this.limit = ERROR_BODY_BYTES;
    else if ((announcedLengthRaw(headers) ?? 0) > this.maxBytes) throw responseTooLarge(this.providerId, this.maxBytes);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > this.limit) {
      // undici aborts the request (dropping the connection) with what the handler throws.
      if (!this.failed) throw responseTooLarge(this.providerId, this.maxBytes);
      this.chunks.push(chunk.subarray(0, chunk.length - (this.size - this.limit)));
      throw ENOUGH;
    }
    this.chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    this.settle();
    this.resolve(new TextResponse(this.status, this.raw, this.body()));
  }

  onError(err: Error): void {
    this.settle();
    if (err === ENOUGH) this.resolve(new TextResponse(this.status, this.raw, this.body()));
    else this.reject(err);
  }

  private settle(): void {
    this.signal.off("abort", this.onAbort);
  }

  private body(): string {
    const chunks = this.chunks;
    return chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8");
  }
}

/**
 * One exchange, its body read whole. A 2xx body over `maxBytes` (announced or counted) aborts the
 * request with a 502; a non-2xx body is read to ERROR_BODY_BYTES and the connection dropped there.
 */
export function exchangeText(
  dispatcher: Dispatcher,
  options: Dispatcher.DispatchOptions,
  signal: UpstreamSignal,
  maxBytes: number,
  providerId: string,
): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError());
    dispatcher.dispatch(options, new TextExchange(signal, maxBytes, providerId, resolve, reject));
  });
}
