/**
 * Turns what an upstream says or does wrong into the ApiError the client sees. Messages name the
 * provider id, never the upstream URL or key: transport errors contribute only their code.
 */
import { jsonNestsDeeperThan } from "../../core/json-depth.js";
import { ApiError, GatewayTimeoutError, UpstreamError } from "../../core/errors.js";
import { MAX_UPSTREAM_JSON_DEPTH } from "./response-limits.js";

/** A failure another attempt (on another URL) may fix. Internal to the retry loop. */
export class RetryableFailure extends Error {
  constructor(
    readonly error: ApiError,
    /** Counts towards the URL's cooldown (429 does not: it says when to return instead). */
    readonly urlFault: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(error.message);
  }
}

export interface UpstreamErrorInfo {
  message: string;
  type?: string;
  param?: string;
  code?: string;
  /** A numeric code/status inside the payload (llama.cpp and old vLLM put the HTTP status there). */
  status?: number;
}

type Json = Record<string, unknown>;
/** Removes configured key values from text an upstream wrote (it may quote our key back). */
export type Redact = (text: string) => string;
/** Longest upstream message relayed: an upstream cannot make our error response megabytes long. */
const MAX_MESSAGE = 1_000;
/** Longest relayed `type`, `param` or `code`: identifiers (a field path at most), not prose. */
const MAX_TOKEN = 128;

/**
 * Every field that may reach the client, with configured keys removed and cut to size. Redacted
 * before cutting: a cut first could leave the start of a key behind.
 */
export function cleanErrorInfo(info: UpstreamErrorInfo, redact: Redact): UpstreamErrorInfo {
  const token = (v: string | undefined) => (v === undefined ? undefined : redact(v).slice(0, MAX_TOKEN));
  return { message: redact(info.message).slice(0, MAX_MESSAGE), type: token(info.type), param: token(info.param), code: token(info.code), status: info.status };
}

/** Reads the fields of an error payload in a dialect's shape; undefined when `o` is not one. */
export type ErrorFields = (o: Json) => UpstreamErrorInfo | undefined;

/**
 * An error body read with the dialect's `fields`, cleaned; a body that is not such JSON is its own
 * message. Shared so that every dialect gets the same depth check, redaction and size cuts.
 */
export function decodeErrorText(text: string, status: number, redact: Redact, fields: ErrorFields): UpstreamErrorInfo {
  const trimmed = text.trim();
  // Too deep to re-serialize safely (a message-less error is stringified): quoted as text instead.
  if (!jsonNestsDeeperThan(trimmed, MAX_UPSTREAM_JSON_DEPTH)) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      if (typeof parsed === "object" && parsed !== null) {
        const info = fields(parsed as Json);
        if (info) return cleanErrorInfo(info, redact);
      }
    } catch {
      // Not JSON: the text itself is the message.
    }
  }
  return { message: trimmed ? redact(trimmed).slice(0, MAX_MESSAGE) : `HTTP ${status}` };
}

/** An upstream 4xx (not 401/403/408/429): the client's request is at fault, so status and message go through. */
export function clientError(providerId: string, status: number, info: UpstreamErrorInfo, headers: Record<string, string>): ApiError {
  return new ApiError(status, info.type ?? "invalid_request_error", `${providerId}: ${info.message}`, info.param ?? null, info.code ?? null, headers);
}

export function authError(providerId: string, status: number, info: UpstreamErrorInfo): ApiError {
  return new UpstreamError(502, `${providerId}: the upstream rejected Understudy's credentials (HTTP ${status}: ${info.message})`, "upstream_auth_error");
}

export function serverError(providerId: string, status: number, info: UpstreamErrorInfo): ApiError {
  return new UpstreamError(502, `${providerId}: the upstream failed (HTTP ${status}: ${info.message})`);
}

/** A 5xx that said the upstream is overloaded (Codec.overloaded), after the retries: 503, the client may come back later. */
export function overloadedError(providerId: string, status: number, info: UpstreamErrorInfo): ApiError {
  return new UpstreamError(503, `${providerId}: the upstream is overloaded (HTTP ${status}: ${info.message})`, "upstream_overloaded", "server_error");
}

export function rateLimitError(providerId: string, info: UpstreamErrorInfo, retryAfterMs: number | undefined): ApiError {
  const headers: Record<string, string> = retryAfterMs === undefined ? {} : { "Retry-After": String(Math.ceil(retryAfterMs / 1000)) };
  return new ApiError(
    429,
    "rate_limit_error",
    `${providerId}: rate limited by the upstream (${info.message})`,
    null,
    info.code ?? "rate_limit_exceeded",
    headers,
  );
}

/** An error payload inside a stream. Before the first byte a 4xx status in it is honoured; after, status is moot. */
export function streamPayloadError(providerId: string, info: UpstreamErrorInfo): ApiError {
  const status = info.status !== undefined && info.status >= 400 && info.status < 500 ? info.status : 502;
  const code = info.code ?? (status === 502 ? "upstream_error" : null);
  return new ApiError(status, info.type ?? "upstream_error", `${providerId}: ${info.message}`, info.param ?? null, code);
}

const TIMEOUT_CODES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: "connect",
  UND_ERR_HEADERS_TIMEOUT: "first byte",
  UND_ERR_BODY_TIMEOUT: "idle",
};

/** A transport error from undici (refused, reset, timed out, ...). */
export function transportError(providerId: string, err: unknown, timeouts: { connect_ms: number; first_byte_ms: number; idle_ms: number }): ApiError {
  const code = String((err as { code?: unknown }).code ?? (err as Error).name ?? "error");
  const which = TIMEOUT_CODES[code];
  if (which) {
    const ms = which === "connect" ? timeouts.connect_ms : which === "first byte" ? timeouts.first_byte_ms : timeouts.idle_ms;
    return new GatewayTimeoutError(`${providerId}: the upstream did not respond in time (${which} timeout, ${ms} ms)`);
  }
  return new UpstreamError(502, `${providerId}: the connection to the upstream failed (${code})`);
}

export const isTransportError = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("UND_ERR_") || /^E[A-Z]+$/.test(code));
};

/** Retry-After (seconds or HTTP date) or retry-after-ms, in milliseconds. */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now: number): number | undefined {
  const ms = headers["retry-after-ms"];
  if (typeof ms === "string" && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const value = headers["retry-after"];
  if (typeof value !== "string") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
