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
    let abort: ((err?: Error) => void) | undefined;
    let status = 0;
    let raw: Buffer[] = [];
    let limit = maxBytes;
    let failed = false;
    let size = 0;
    const chunks: Buffer[] = [];
    const onAbort = () => abort?.(new AbortedError());
    signal.once("abort", onAbort);
    const settle = () => signal.off("abort", onAbort);
    const body = () => (chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8"));
    dispatcher.dispatch(options, {
      onConnect: (fn) => {
        abort = fn;
        if (signal.aborted) fn(new AbortedError());
      },
      onHeaders: (statusCode, headers) => {
        status = statusCode;
        raw = headers;
        failed = statusCode < 200 || statusCode >= 300;
        if (!failed) signal.firstByte();
        if (failed) limit = ERROR_BODY_BYTES;
        else if ((announcedLengthRaw(headers) ?? 0) > maxBytes) throw responseTooLarge(providerId, maxBytes);
        return true;
      },
      onData: (chunk) => {
        size += chunk.length;
        if (size > limit) {
          // undici aborts the request (dropping the connection) with what the handler throws.
          if (!failed) throw responseTooLarge(providerId, maxBytes);
          chunks.push(chunk.subarray(0, chunk.length - (size - limit)));
          throw ENOUGH;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete: () => {
        settle();
        resolve(new TextResponse(status, raw, body()));
      },
      onError: (err) => {
        settle();
        if (err === ENOUGH) resolve(new TextResponse(status, raw, body()));
        else reject(err);
      },
    });
  });
}
