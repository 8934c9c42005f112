/**
 * A non-streaming upstream exchange on undici's dispatch API, read whole as text. undici's
 * request() wraps every response in a Readable and parses all its headers up front; a JSON answer
 * needs neither, so headers are parsed only if something asks for them (errors, debug logs).
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import type { UpstreamSignal } from "./call-state.js";
import { undici } from "./undici-module.js";

const parseHeaders = (raw: Buffer[]) => undici().util.parseHeaders(raw) as IncomingHttpHeaders;

/** What the retry loop reads of any upstream response: status, headers, the body as text. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: { text(): Promise<string> };
}

class TextResponse implements UpstreamResponse {
  private parsed?: IncomingHttpHeaders;
  readonly body: { text(): Promise<string> };

  constructor(
    readonly statusCode: number,
    private readonly raw: Buffer[],
    text: string,
  ) {
    this.body = { text: () => Promise.resolve(text) };
  }

  get headers(): IncomingHttpHeaders {
    return (this.parsed ??= parseHeaders(this.raw));
  }
}

/** What undici's request() rejects with when its signal fires (UND_ERR_ABORTED). */
class AbortedError extends Error {
  readonly code = "UND_ERR_ABORTED";
  constructor() {
    super("Request aborted");
  }
}

export function exchangeText(dispatcher: Dispatcher, options: Dispatcher.DispatchOptions, signal: UpstreamSignal): Promise<UpstreamResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError());
    let abort: ((err?: Error) => void) | undefined;
    let status = 0;
    let raw: Buffer[] = [];
    const chunks: Buffer[] = [];
    const onAbort = () => abort?.(new AbortedError());
    signal.once("abort", onAbort);
    const settle = () => signal.off("abort", onAbort);
    dispatcher.dispatch(options, {
      onConnect: (fn) => {
        abort = fn;
        if (signal.aborted) fn(new AbortedError());
      },
      onHeaders: (statusCode, headers) => {
        status = statusCode;
        raw = headers;
        return true;
      },
      onData: (chunk) => {
        chunks.push(chunk);
        return true;
      },
      onComplete: () => {
        settle();
        resolve(new TextResponse(status, raw, chunks.length === 1 ? chunks[0].toString("utf8") : Buffer.concat(chunks).toString("utf8")));
      },
      onError: (err) => {
        settle();
        reject(err);
      },
    });
  });
}
