/**
 * Reading a JSON request body, the same way for the fast path and the express routes: the limits
 * are checked before the bytes they bound are held (a declared length before reading, the nesting
 * depth before JSON.parse and every walk after it), and every refusal is an ApiError.
 */
import type { IncomingHttpHeaders, IncomingMessage } from "node:http";
import { ApiError, clipEcho, InvalidRequestError, PayloadTooLargeError, ServerBusyError } from "../core/errors.js";
import { jsonNestsDeeperThan } from "../core/json-depth.js";
import type { HttpLimits } from "./limits.js";

/** Whether the request carries a body at all (a declared length above 0, or chunked). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers["content-length"];
  return (length !== undefined && length !== "0") || headers["transfer-encoding"] !== undefined;
}

/** A declared `Content-Length` over the limit: refused before a byte of the body is read (as nginx does). */
export function declaresTooLarge(headers: IncomingHttpHeaders, limitBytes: number): boolean {
  const length = headers["content-length"];
  return length !== undefined && Number(length) > limitBytes;
}

/**
 * Request-body bytes held by all requests being received at once. Counting what has arrived (not
 * what is announced) bounds memory without letting a client reserve the budget with a big header.
 */
export class BodyBudget {
  private held = 0;
  constructor(readonly capBytes: number) {}

  take(bytes: number): boolean {
    if (this.held + bytes > this.capBytes) return false;
    this.held += bytes;
    return true;
  }

  give(bytes: number): void {
    this.held -= bytes;
  }
}

export interface BodyReading {
  limits: Pick<HttpLimits, "bodyLimitBytes" | "jsonMaxDepth">;
  budget: BodyBudget;
}

export interface JsonBody {
  text: string;
  parsed: unknown;
}

const INVALID_JSON = "We could not parse the JSON body of your request. The body must be valid JSON (see https://www.json.org).";

/** The request's JSON body; undefined when it has none and `required` is false. */
export async function readJsonBody(req: IncomingMessage, reading: BodyReading, required: boolean): Promise<JsonBody | undefined> {
  refuseEncoding(req.headers);
  const bytes = hasBody(req.headers) ? await readBody(req, reading) : undefined;
  if (bytes === undefined || bytes.length === 0) {
    if (required)
      throw new InvalidRequestError("You must provide a request body: a JSON object with the operation's parameters.", null, "missing_required_parameter");
    return undefined;
  }
  const { jsonMaxDepth } = reading.limits;
  const text = bytes.toString("utf8");
  if (jsonNestsDeeperThan(text, jsonMaxDepth)) {
    throw new InvalidRequestError(`The JSON body nests deeper than the ${jsonMaxDepth}-level limit.`, null, "nesting_too_deep");
  }
  try {
    return { text, parsed: JSON.parse(text) };
  } catch {
    throw new InvalidRequestError(INVALID_JSON, null, "invalid_json");
  }
}

/**
 * Compressed request bodies are refused on every route (OpenAI's clients never send them): an
 * inflated body is a second size to bound, and a zip bomb's work is done before any limit bites.
 */
function refuseEncoding(headers: IncomingHttpHeaders): void {
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== "identity") {
    throw new ApiError(
      415,
      "invalid_request_error",
      `Content-Encoding '${clipEcho(encoding)}' is not supported; send the body uncompressed`,
      null,
      "unsupported_content_encoding",
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headers["content-type"] ?? "")?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new ApiError(
      415,
      "invalid_request_error",
      `Unsupported charset '${clipEcho(charset)}'; send application/json; charset=utf-8`,
      null,
      "unsupported_media_type",
    );
  }
}

/** The body's bytes, within the per-request limit and the shared budget. */
function readBody(req: IncomingMessage, { limits, budget }: BodyReading): Promise<Buffer> {
  const limit = limits.bodyLimitBytes;
  if (declaresTooLarge(req.headers, limit)) return Promise.reject(new PayloadTooLargeError(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (err?: ApiError) => {
      if (settled) return;
      settled = true;
      // Once refused, the rest of the body flows to no listener (discarded, never held); the
      // response closes the connection (respond.ts).
      req.off("data", onData);
      budget.give(size);
      if (err) reject(err);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) return settle(new PayloadTooLargeError(limit));
      if (!budget.take(chunk.length)) {
        return settle(new ServerBusyError(`The server is receiving more request bodies than it can hold (${budget.capBytes} bytes); retry shortly.`));
      }
      size += chunk.length;
      chunks.push(chunk);
    };
    // `close` follows every request, complete ones too: the error is built only for a real abort
    // (building and dropping it on every request cost 11-14 µs of CPU per proxied call).
    const aborted = () => {
      if (!settled) settle(new InvalidRequestError("The request body was not received completely", null, "request_aborted"));
    };
    // `on`, not `once`, for the events that come once anyway: `once` wraps each listener in a bound
    // function, per request (settle and aborted are idempotent).
    req.on("data", onData);
    req.on("end", () => settle());
    req.on("error", aborted);
    req.on("close", aborted);
  });
}
