/**
 * Bounds on what Understudy reads of an upstream's answer. An upstream is trusted to speak HTTP, not
 * to be small: without these, one huge (or announced-huge) body is buffered whole, on every attempt.
 */
import type { IncomingHttpHeaders } from "node:http";
import { UpstreamError } from "../../core/errors.js";
import { jsonNestsDeeperThan } from "../../core/json-depth.js";

/** Default cap on a non-streaming (or JSON) upstream body: far above any real completion or embedding batch. */
export const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * How much of a non-2xx body is read: only its message is used (and cut to 1 KB), so the rest
 * is not worth holding; the connection is dropped instead of read to the end.
 */
export const ERROR_BODY_BYTES = 64 * 1024;

/**
 * Deepest JSON nesting accepted from an upstream. Real answers nest about 6 levels; serializing a
 * much deeper one (JSON.stringify recurses) overflows the stack. Looser than the 64 levels allowed
 * in client bodies: an upstream's own extensions may nest more.
 */
export const MAX_UPSTREAM_JSON_DEPTH = 128;

export function responseTooLarge(providerId: string, limit: number): UpstreamError {
  return new UpstreamError(
    502,
    `${providerId}: the upstream's response is larger than the ${limit}-byte limit (max_response_bytes)`,
    "upstream_protocol_error",
  );
}

export function tooDeep(providerId: string): UpstreamError {
  return new UpstreamError(502, `${providerId}: the upstream's JSON nests deeper than ${MAX_UPSTREAM_JSON_DEPTH} levels`, "upstream_protocol_error");
}

/** The announced Content-Length, or undefined when there is none (chunked) or it is not a number. */
export function announcedLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["content-length"];
  if (typeof value !== "string" || !/^\s*\d+\s*$/.test(value)) return undefined;
  return Number(value);
}

/**
 * Content-Length from undici's raw header list ([name, value, name, value, ...]), without parsing
 * the other headers: the non-streaming path parses headers only when something needs them.
 */
export function announcedLengthRaw(raw: readonly Buffer[]): number | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 14 && name.toString("latin1").toLowerCase() === "content-length") {
      const value = raw[i + 1].toString("latin1");
      return /^\s*\d+\s*$/.test(value) ? Number(value) : undefined;
    }
  }
  return undefined;
}

/**
 * Reads a body as text, at most `limit` bytes. Past the limit the body is destroyed (the
 * connection is dropped, not drained) and either the text so far is returned (`truncate`: an error
 * body, of which only the start is used) or `onOver` is thrown.
 */
export async function readCapped(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number, onOver: (() => Error) | "truncate"): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      if (size + chunk.length > limit) {
        if (onOver !== "truncate") throw onOver();
        chunks.push(chunk.subarray(0, limit - size));
        size = limit;
        break;
      }
      chunks.push(chunk);
      size += chunk.length;
    }
  } finally {
    // Breaking out of for-await destroys the stream already; an error thrown above needs it too.
    body.destroy();
  }
  return Buffer.concat(chunks, size).toString("utf8");
}

/**
 * A whole upstream body parsed as one JSON object, depth-checked on the text first: the parsed
 * object is serialized again (JSON.stringify recurses). Anything else is a 502.
 */
export function parseUpstreamObject(text: string, providerId: string): Record<string, unknown> {
  if (jsonNestsDeeperThan(text, MAX_UPSTREAM_JSON_DEPTH)) throw tooDeep(providerId);
  let out: unknown;
  try {
    out = JSON.parse(text);
  } catch {
    out = undefined;
  }
  if (typeof out !== "object" || out === null || Array.isArray(out)) {
    throw new UpstreamError(502, `${providerId}: the upstream's response is not a JSON object`, "upstream_protocol_error");
  }
  return out as Record<string, unknown>;
}
