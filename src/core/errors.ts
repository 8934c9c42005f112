/**
 * The one error hierarchy. Everything below http/ throws these; http/error-middleware.ts turns
 * anything else thrown into one, and each protocol surface's `errorResponse`/`errorFrames`
 * (src/surfaces/) is the only place that turns them into its wire shape (OpenAI's: `toBody()`).
 */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export class InvalidRequestError extends ApiError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(400, "invalid_request_error", message, param, code);
  }
}

/** A sampling or request field the chosen backend cannot honour: never silently dropped. */
export class UnsupportedFieldError extends InvalidRequestError {
  constructor(field: string, backend: string, why = "") {
    super(`'${field}' is not supported by the ${backend} backend${why ? `: ${why}` : ""}`, field, "unsupported_parameter");
  }
}

/**
 * A top-level request field the extended spec does not declare, on a backend that would not honour
 * it (OpenAI's wording). The name is the client's own key: quoted clipped, like every echo.
 */
export class UnknownParameterError extends InvalidRequestError {
  constructor(field: string) {
    super(`Unrecognized request argument supplied: ${clipEcho(field)}`, clipEcho(field), "unknown_parameter");
  }
}

export class ContextLengthExceededError extends InvalidRequestError {
  constructor(message: string, param = "messages") {
    super(message, param, "context_length_exceeded");
  }
}

export class NotFoundError extends ApiError {
  constructor(message: string, param: string | null = null, code: string | null = null) {
    super(404, "invalid_request_error", message, param, code);
  }
}

export class ModelNotFoundError extends NotFoundError {
  constructor(message: string) {
    super(message, "model", "model_not_found");
  }
}

/**
 * A missing, unknown or expired API key: OpenAI's 401 `invalid_api_key` (Anthropic's surface says
 * `authentication_error`, Sourcegraph's the plain message). Never quotes the key presented.
 */
export class InvalidApiKeyError extends ApiError {
  constructor(message: string) {
    super(401, "invalid_request_error", message, null, "invalid_api_key", { "WWW-Authenticate": "Bearer" });
  }
}

/**
 * A model the caller's key may not use, or one that does not exist: the two answer alike, so a
 * restricted key learns nothing of the models outside its allow-list (LiteLLM's "key not allowed to access model").
 */
export class ModelNotAllowedError extends ApiError {
  constructor(model: string, keyName: string) {
    super(403, "permission_error", `The API key '${clipEcho(keyName)}' is not allowed to use the model '${clipEcho(model)}'`, "model", "model_not_allowed");
  }
}

/** A key without the admin role asked for an admin-only path (GET /metrics when keys.yaml lists keys). */
export class AdminRequiredError extends ApiError {
  constructor(what: string) {
    super(403, "permission_error", `${what} needs an API key with role admin`, null, "admin_required");
  }
}

/** A key without the admin role asked for the admin page's API (/admin/api/*, issue 16's contract: type invalid_request_error). */
export class AdminKeyRequiredError extends ApiError {
  constructor() {
    super(403, "invalid_request_error", "The admin API needs an API key with role admin (keys.yaml)", null, "admin_key_required");
  }
}

/** A model with requests in flight or waiting cannot be unloaded now (the admin page's unload); retry once it is idle. */
export class ModelBusyError extends ApiError {
  constructor(message: string) {
    super(409, "invalid_request_error", message, null, "model_busy");
  }
}

export class PayloadTooLargeError extends ApiError {
  constructor(limitBytes: number) {
    super(413, "invalid_request_error", `Request body is larger than the ${limitBytes}-byte limit`, null, "request_too_large");
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  constructor(contentType: string | undefined, expected: string[]) {
    super(
      415,
      "invalid_request_error",
      `Unsupported content type '${contentType === undefined ? "(none)" : clipEcho(contentType)}'; send ${expected.join(" or ")}`,
      null,
      "unsupported_media_type",
    );
  }
}

export class NotImplementedError extends ApiError {
  constructor(operationId: string) {
    super(501, "not_implemented", `${operationId} is not implemented by this server`, null, "not_implemented");
  }
}

export class RateLimitError extends ApiError {
  /** `type`, `code` and `headers` for a key's limits (src/limits/): OpenAI's type `requests`/`tokens` and its `x-ratelimit-*` headers. */
  constructor(
    message: string,
    retryAfterSeconds: number,
    type = "rate_limit_error",
    code = "rate_limit_exceeded",
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(429, type, message, null, code, { ...headers, "Retry-After": String(retryAfterSeconds) });
  }
}

export class UpstreamError extends ApiError {
  constructor(status: number, message: string, code = "upstream_error", type = "upstream_error") {
    super(status, type, message, null, code);
  }
}

export class GatewayTimeoutError extends ApiError {
  constructor(message: string) {
    super(504, "timeout_error", message, null, "upstream_timeout");
  }
}

export class ServiceUnavailableError extends ApiError {
  constructor(message: string, code = "service_unavailable", headers: Readonly<Record<string, string>> = {}) {
    super(503, "server_error", message, null, code, headers);
  }
}

/** The shared store of the keys' rate limits (Redis) cannot be reached and limits fail closed (`UNDERSTUDY_LIMITS_FAIL`). */
export class LimitsUnavailableError extends ServiceUnavailableError {
  constructor(message: string, retryAfterSeconds: number, options?: { cause?: unknown }) {
    super(message, "limits_unavailable", { "Retry-After": String(retryAfterSeconds) });
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** Work stopped because the client went away; nothing is sent. */
export class ClientAbortError extends Error {
  constructor() {
    super("client disconnected");
    this.name = "ClientAbortError";
  }
}

/**
 * Client input quoted in an error message (a model name, a header value, a sent value) is cut to
 * this many characters: a 1 MB model name must not make a 1 MB error.
 */
export const ECHO_MAX_CHARS = 96;

/** `value` as text for quoting in a message, cut to `max` characters with an ellipsis. */
export function clipEcho(value: unknown, max = ECHO_MAX_CHARS): string {
  const text = typeof value === "string" ? value : String(value);
  if (text.length <= max) return text;
  // Never split a surrogate pair: half of one is a lone surrogate in the JSON we send.
  const end = /[\uD800-\uDBFF]/.test(text[max - 1]) ? max - 1 : max;
  return `${text.slice(0, end)}… (${text.length} characters)`;
}

/** The server cannot take this request now (a shared capacity limit); the client may retry. */
export class ServerBusyError extends ApiError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(503, "server_error", message, null, "server_busy", { "Retry-After": String(retryAfterSeconds) });
  }
}

/** The server is draining (SIGTERM/SIGINT): a new request is refused, and a stream still open when the grace ends is ended with it. */
export class ServerShuttingDownError extends ApiError {
  constructor(retryAfterSeconds = 1) {
    super(503, "server_error", "The server is shutting down; retry on another instance", null, "server_shutting_down", {
      "Retry-After": String(retryAfterSeconds),
      Connection: "close",
    });
  }
}

/**
 * The stored-responses store (the SQLite file, Redis) failed to read or write: the request fails
 * rather than a response being silently lost. The cause (a path, a host) is the operator's to see, in `cause`.
 */
export class StoreUnavailableError extends ServiceUnavailableError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "store_unavailable");
    if (options && "cause" in options) this.cause = options.cause;
  }
}

/** A response to store (with its input and conversation history) is over the per-record bound. */
export class StoredResponseTooLargeError extends ApiError {
  constructor(bytes: number, limitBytes: number, setting: string) {
    super(
      413,
      "invalid_request_error",
      `The response to store is ${bytes} bytes with its input and conversation history, over the ${limitBytes}-byte limit (${setting}); send store: false or start a new conversation`,
      "store",
      "stored_response_too_large",
    );
  }
}

export function internalError(requestId: string): ApiError {
  return new ApiError(500, "server_error", `The server had an error while processing your request (request id ${requestId})`, null, "internal_error");
}

/**
 * Statuses a retry cannot change: the request itself is refused (400, 404, 413, 415) or the server
 * cannot do it at all (501). Their responses say `x-should-retry: false`, which the openai and
 * anthropic SDKs (and Stainless-generated clients generally) obey before their own rules; without
 * it they retry every 5xx, a 501 three times over a second and more.
 */
export const NOT_RETRYABLE_STATUSES: ReadonlySet<number> = new Set([400, 404, 413, 415, 501]);

const NO_RETRY_HEADERS: Readonly<Record<string, string>> = Object.freeze({ "x-should-retry": "false" });

/** The headers of an error's response: its own, plus `x-should-retry: false` for a status a retry cannot change. */
export function errorHeaders(err: ApiError): Readonly<Record<string, string>> {
  if (!NOT_RETRYABLE_STATUSES.has(err.status)) return err.headers;
  return Object.keys(err.headers).length === 0 ? NO_RETRY_HEADERS : { ...err.headers, ...NO_RETRY_HEADERS };
}
