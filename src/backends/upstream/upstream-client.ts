/**
 * Calls one provider in its dialect: picks a URL, sends the request, and until the first byte could
 * reach the client retries connection errors, timeouts, 5xx, 401/403 and 429 on the next URL with
 * backoff (Retry-After honoured). Upstream 4xx go to the client as they are; nothing else is retried.
 * What the bytes mean is the dialect's (Codec); when and where to retry is decided here, by status.
 */
import type { Logger } from "pino";
import { ApiError, GatewayTimeoutError, UpstreamError } from "../../core/errors.js";
import type { CallContext, Provider } from "../types.js";
import { CallState } from "./call-state.js";
import { ChunkStream } from "./chunk-stream.js";
import { DebugLog, type DebugCall } from "./debug-log.js";
import type { Codec, DecodeContext, Decoded, Json, UpstreamMethod } from "./dialect.js";
import type { UpstreamUrl, UrlSet } from "./url-set.js";
import type { RetryPolicy, UpstreamOptions } from "./options.js";
import { sseEvents, SseOverflowError } from "./sse-events.js";
import { exchangeText, type UpstreamResponse } from "./text-exchange.js";
import { exchangeStream, StreamedResponse } from "./stream-exchange.js";
import * as errors from "./upstream-errors.js";
import { telemetry } from "../../core/telemetry.js";

/** Which configured URL served (`<provider-id>#<index>`); the header name is wire compatibility. */
export const ENDPOINT_HEADER = "x-understudy-endpoint";

type Accept<T> = (res: UpstreamResponse, call: CallState, dbg: DebugCall | undefined) => Promise<T>;

export interface UpstreamClientConfig {
  provider: Provider;
  options: UpstreamOptions;
  codec: Codec;
  /** The path of each backend (or native) method, appended to the URL's path. */
  paths: Readonly<Partial<Record<UpstreamMethod, string>>>;
  upstreamModel: string;
  urls: UrlSet;
  log: Logger;
}

function backoff(retry: RetryPolicy, attempt: number): number {
  const base = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

function withUrlLabel(err: ApiError, u: UpstreamUrl): ApiError {
  return new ApiError(err.status, err.type, err.message, err.param, err.code, { ...err.headers, [ENDPOINT_HEADER]: u.label });
}

export class UpstreamClient {
  private readonly id: string;
  private readonly debug?: DebugLog;
  /** Upstream error messages can quote our key back; they reach clients only through this. */
  private readonly redact = (text: string) => this.cfg.urls.redact(text);

  constructor(private readonly cfg: UpstreamClientConfig) {
    this.id = cfg.provider.id;
    if (cfg.provider.debug_connections) this.debug = new DebugLog(cfg.log, cfg.urls);
  }

  private decodeContext(ctx: CallContext, request: Readonly<Json>): DecodeContext {
    return { providerId: this.id, requestedModel: ctx.requestedModel, redact: this.redact, request };
  }

  /** A non-streaming call: the upstream's answer in the internal shape, `model` set to the client's name. */
  async json(method: UpstreamMethod, request: Readonly<Json>, ctx: CallContext): Promise<Decoded> {
    const body = this.cfg.codec.encode(method, request, this.cfg.upstreamModel);
    const call = new CallState(ctx, this.id, this.cfg.options.timeouts.total_ms, this.cfg.options.timeouts.first_byte_ms);
    const decode = this.decodeContext(ctx, request);
    try {
      return await this.withFailover(call, method, body, false, decode, (res, _call, dbg) => this.readJson(method, res, decode, dbg));
    } finally {
      call.dispose();
    }
  }

  /**
   * Chat and completions: JSON, or (stream: true) chunks whose first one has already arrived. Not
   * async: an async function returning json()'s promise would add a promise and two microtask turns
   * to every non-streaming call.
   */
  generate(method: UpstreamMethod, request: Readonly<Json>, ctx: CallContext): Promise<Decoded | AsyncIterable<unknown>> {
    return request.stream === true ? this.stream(method, request, ctx) : this.json(method, request, ctx);
  }

  private async stream(method: UpstreamMethod, request: Readonly<Json>, ctx: CallContext): Promise<AsyncIterable<unknown>> {
    const body = this.cfg.codec.encode(method, request, this.cfg.upstreamModel);
    const call = new CallState(ctx, this.id, this.cfg.options.timeouts.total_ms, this.cfg.options.timeouts.first_byte_ms);
    const decode = this.decodeContext(ctx, request);
    try {
      const stream = await this.withFailover(call, method, body, true, decode, (res, c, dbg) => this.openStream(method, res, c, decode, dbg));
      return stream.relay();
    } catch (err) {
      call.dispose();
      throw err;
    }
  }

  private async withFailover<T>(call: CallState, method: UpstreamMethod, body: string, stream: boolean, decode: DecodeContext, accept: Accept<T>): Promise<T> {
    const { urls } = this.cfg;
    const retry = this.cfg.options.retry;
    let tried: UpstreamUrl[] | undefined;
    let last: { error: ApiError; url: UpstreamUrl } | undefined;
    let heldMs = 0;
    for (let attempt = 0; attempt < retry.attempts; attempt++) {
      const now = Date.now();
      const pick = urls.pick(now, tried);
      const u = pick.url;
      heldMs = pick.waitMs;
      if (pick.waitMs > retry.max_retry_after_ms) break;
      const delay = Math.max(pick.waitMs, attempt === 0 ? 0 : backoff(retry, attempt));
      if (delay > 0) {
        if (now + delay >= call.deadline) break;
        await call.sleep(delay);
      }
      if (attempt > 0) telemetry().upstreamRetry(u.shownUrl);
      try {
        const result = await this.attempt(call, u, method, body, stream, decode, accept);
        urls.succeeded(u);
        call.ctx.setHeader(ENDPOINT_HEADER, u.label);
        return result;
      } catch (err) {
        const interrupted = call.interrupted();
        if (interrupted) throw interrupted;
        // Every failed attempt but an upstream's 4xx answer (the client's request, passed on as it is).
        if (!(err instanceof ApiError && err.status < 500)) telemetry().upstreamError(u.shownUrl);
        if (!(err instanceof errors.RetryableFailure)) throw err instanceof ApiError ? withUrlLabel(err, u) : err;
        last = { error: err.error, url: u };
        if (err.urlFault) urls.failed(u, Date.now(), err.error.message);
        if (err.retryAfterMs !== undefined) urls.holdUntil(u, Date.now() + err.retryAfterMs);
        // Every URL was cooling down: this request had its one try.
        if (pick.forced && u.coolUntil > Date.now()) break;
        (tried ??= []).push(u);
      }
    }
    if (last) throw withUrlLabel(last.error, last.url);
    // No attempt was made: every URL is held by a Retry-After longer than we may wait.
    throw errors.rateLimitError(this.id, { message: "every endpoint asked to wait" }, heldMs);
  }

  private headers(u: UpstreamUrl, stream: boolean, passOn: Readonly<Record<string, string>> | undefined): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json" };
    // Read per request, never cached: a rotated key is picked up without a reload.
    this.cfg.codec.addHeaders(headers, u.apiKeyEnv ? process.env[u.apiKeyEnv] : undefined);
    if (passOn) for (const name in passOn) if (!Object.hasOwn(headers, name)) headers[name] = passOn[name];
    return headers;
  }

  private async attempt<T>(
    call: CallState,
    u: UpstreamUrl,
    method: UpstreamMethod,
    body: string,
    stream: boolean,
    decode: DecodeContext,
    accept: Accept<T>,
  ): Promise<T> {
    const path = u.basePath + this.cfg.paths[method] + u.search;
    const headers = this.headers(u, stream, call.ctx.passOnHeaders);
    const dbg = this.debug?.start(u, call.ctx.requestId, path, headers, body);
    try {
      const options = { path, method: "POST" as const, headers, body };
      const max = this.cfg.options.maxResponseBytes;
      const res = stream ? await exchangeStream(u.pool, options, call.signal, max, this.id) : await exchangeText(u.pool, options, call.signal, max, this.id);
      dbg?.response(res.statusCode, res.headers);
      if (res.statusCode < 200 || res.statusCode >= 300) return await this.statusFailure(res, u, decode, dbg);
      return await accept(res, call, dbg);
    } catch (err) {
      const mapped = this.failureOf(err, call);
      dbg?.end(`failed: ${mapped.message}`);
      throw mapped;
    }
  }

  /** What a thrown error means for the retry loop. */
  private failureOf(err: unknown, call: CallState): Error {
    const interrupted = call.interrupted();
    if (interrupted) return interrupted;
    if (err instanceof errors.RetryableFailure || err instanceof ApiError) return err;
    if (err instanceof SseOverflowError) return new UpstreamError(502, `${this.id}: the upstream sent an oversized event`, "upstream_protocol_error");
    if (errors.isTransportError(err)) return new errors.RetryableFailure(errors.transportError(this.id, err, this.cfg.options.timeouts), true);
    return err instanceof Error ? err : new Error(String(err));
  }

  private async statusFailure(res: UpstreamResponse, u: UpstreamUrl, decode: DecodeContext, dbg: DebugCall | undefined): Promise<never> {
    const text = await res.text();
    dbg?.body(text);
    const status = res.statusCode;
    const info = this.cfg.codec.decodeError(text, status, decode);
    if (status === 401 || status === 403) {
      if (u.apiKeyEnv && !process.env[u.apiKeyEnv]) info.message += "; the API key variable configured for this endpoint is not set";
      throw new errors.RetryableFailure(errors.authError(this.id, status, info), true);
    }
    if (status === 429) {
      const wait = errors.retryAfterMs(res.headers, Date.now());
      throw new errors.RetryableFailure(errors.rateLimitError(this.id, info, wait), false, wait);
    }
    if (status === 408) throw new errors.RetryableFailure(new GatewayTimeoutError(`${this.id}: the upstream timed out (HTTP 408)`), true);
    if (status >= 500) {
      const overloaded = this.cfg.codec.overloaded?.(status, info) === true;
      const wait = status === 503 || overloaded ? errors.retryAfterMs(res.headers, Date.now()) : undefined;
      const error = overloaded ? errors.overloadedError(this.id, status, info) : errors.serverError(this.id, status, info);
      throw new errors.RetryableFailure(error, true, wait);
    }
    if (status >= 400) throw errors.clientError(this.id, status, info, {});
    throw new UpstreamError(502, `${this.id}: unexpected HTTP ${status} from the upstream`);
  }

  private async readJson(method: UpstreamMethod, res: UpstreamResponse, decode: DecodeContext, dbg: DebugCall | undefined): Promise<Decoded> {
    const text = await res.text();
    if (dbg) {
      dbg.body(text);
      dbg.end("complete");
    }
    return this.cfg.codec.decodeResponse(method, text, decode);
  }

  private async openStream(
    method: UpstreamMethod,
    res: UpstreamResponse,
    call: CallState,
    decode: DecodeContext,
    dbg: DebugCall | undefined,
  ): Promise<ChunkStream> {
    if (String(res.headers["content-type"] ?? "").includes("application/json")) {
      const text = await res.text();
      dbg?.body(text);
      // An error payload (or a broken body) throws as such; an answer is still not a stream.
      this.cfg.codec.decodeResponse(method, text, decode);
      throw new UpstreamError(502, `${this.id}: the upstream answered a streaming request without an event stream`, "upstream_protocol_error");
    }
    // The body is read only as fast as the client's SSE writer pulls chunks (see stream-exchange.ts).
    if (!(res instanceof StreamedResponse)) throw new Error("openStream needs a streamed response");
    const events = sseEvents(res.body, this.cfg.options.maxResponseBytes, dbg ? (text) => dbg.chunk(text) : undefined)[Symbol.asyncIterator]();
    const stream = new ChunkStream(events, this.cfg.codec.streamDecoder(method, decode), {
      providerId: this.id,
      failure: (err) => {
        const mapped = this.failureOf(err, call);
        return mapped instanceof errors.RetryableFailure ? mapped.error : mapped;
      },
      finish: (outcome) => {
        dbg?.end(outcome);
        call.dispose();
      },
    });
    try {
      await stream.open();
    } catch (err) {
      await stream.abandon();
      throw err;
    }
    return stream;
  }
}
