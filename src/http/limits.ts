/**
 * The HTTP layer's limits: what one client can make the server hold (bytes, sockets, time). Each
 * has a default and an `UNDERSTUDY_*` environment setting, read once at start (cli.ts) and passed
 * down as options, so tests can set them per server.
 */
import { positiveIntegerSetting } from "../core/env-limit.js";

export interface HttpLimits {
  /** Largest request body, in bytes; a larger `Content-Length` is refused before a byte is read (413). */
  bodyLimitBytes: number;
  /** Request-body bytes being received across all requests at once; past it new bytes get 503 `server_busy`. */
  bodyBytesInFlight: number;
  /** Deepest JSON nesting accepted in a request body (400 `nesting_too_deep`). */
  jsonMaxDepth: number;
  /** Time for a client to send a request's headers. */
  headersTimeoutMs: number;
  /** Time for a client to send a whole request, body included (responses, streams too, are not limited by it). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Open connections at once; the server closes further ones at accept. */
  maxConnections: number;
  /** A response the client stops reading (no `drain` for this long) is cut and its work aborted. */
  writeStallMs: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = {
  // 10 MB: a long conversation with a few inline images fits; OpenAI's own limit is larger, but a
  // local server holding ten of these at once is already 100 MB.
  bodyLimitBytes: 10 * 1024 * 1024,
  // 64 MB: six maximal bodies at once; a flood of slow uploads cannot take more memory than this.
  bodyBytesInFlight: 64 * 1024 * 1024,
  // 64 levels: a request's own structure needs about 10, JSON schemas in tools and response_format
  // a few dozen; past this the validator's and the merge's recursive walks are a stack risk.
  jsonMaxDepth: 64,
  // 30 s for headers (slow-loris), 60 s for the whole request: a 10 MB body at 200 KB/s.
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 60_000,
  // 65 s: longer than the 60 s idle timeout of common load balancers, so they close first.
  keepAliveTimeoutMs: 65_000,
  // 1,024 connections: well past what two to sixteen generation slots can serve, far below fd limits.
  maxConnections: 1024,
  // 30 s without the client reading: longer than any network hiccup, short enough to free the slot.
  writeStallMs: 30_000,
};

const ENV_NAMES: Readonly<Record<keyof HttpLimits, string>> = {
  bodyLimitBytes: "UNDERSTUDY_BODY_LIMIT",
  bodyBytesInFlight: "UNDERSTUDY_BODY_BYTES_IN_FLIGHT",
  jsonMaxDepth: "UNDERSTUDY_JSON_MAX_DEPTH",
  headersTimeoutMs: "UNDERSTUDY_HEADERS_TIMEOUT_MS",
  requestTimeoutMs: "UNDERSTUDY_REQUEST_TIMEOUT_MS",
  keepAliveTimeoutMs: "UNDERSTUDY_KEEP_ALIVE_TIMEOUT_MS",
  maxConnections: "UNDERSTUDY_MAX_CONNECTIONS",
  writeStallMs: "UNDERSTUDY_WRITE_STALL_MS",
};

/** The limits set in `env`; a value that is not a positive integer is an error naming the setting. */
export function httpLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): Partial<HttpLimits> {
  const limits: Partial<HttpLimits> = {};
  for (const key of Object.keys(ENV_NAMES) as (keyof HttpLimits)[]) {
    const text = env[ENV_NAMES[key]];
    if (text === undefined || text === "") continue;
    limits[key] = positiveIntegerSetting(ENV_NAMES[key], text);
  }
  return limits;
}

/** The defaults with what is set (undefined means: not set). */
export function resolveHttpLimits(set: Partial<HttpLimits> = {}): HttpLimits {
  const limits = { ...DEFAULT_HTTP_LIMITS };
  for (const key of Object.keys(set) as (keyof HttpLimits)[]) {
    const value = set[key];
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
