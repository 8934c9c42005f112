/**
 * Calls one provider: picks an endpoint, sends the request, and until the first byte could reach
 * the client retries connection errors, timeouts, 5xx, 401/403 and 429 on the next endpoint with
 * backoff (Retry-After honoured). Upstream 4xx go to the client as they are; nothing else is retried.
 */
import { jsonNestsDeeperThan } from "../../core/json-depth.js";
import type { Logger } from "pino";
import { ApiError, GatewayTimeoutError, UpstreamError } from "../../core/errors.js";
import type { CallContext, Provider } from "../types.js";
import { CallState } from "./call-state.js";
import { ChunkStream } from "./chunk-stream.js";
import { DebugLog, type DebugCall } from "./debug-log.js";
import type { Endpoint, EndpointSet } from "./endpoint-set.js";
import type { RetryPolicy, UpstreamOptions } from "./options.js";
import { upstreamBody, PROFILES } from "./profiles.js";
import { sseEvents, SseOverflowError } from "./sse-events.js";
import { relayUnparsed, type SerializedJson } from "../../core/serialized-json.js";
import { MAX_UPSTREAM_JSON_DEPTH, tooDeep } from "./response-limits.js";
import { exchangeText, type UpstreamResponse } from "./text-exchange.js";
import { exchangeStream, StreamedResponse } from "./stream-exchange.js";
import * as errors from "./upstream-errors.js";

export const ENDPOINT_HEADER = "x-understudy-endpoint";

type Json = Record<string, unknown>;
type Accept<T> = (res: UpstreamResponse, call: CallState, dbg: DebugCall | undefined) => Promise<T>;

export interface UpstreamClientConfig {
  kind: string;
  provider: Provider;
  options: UpstreamOptions;
  upstreamModel: string;
  endpoints: EndpointSet;
  log: Logger;
}

function backoff(retry: RetryPolicy, attempt: number): number {
  const base = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

function withEndpoint(err: ApiError, e: Endpoint): ApiError {
  return new ApiError(err.status, err.type, err.message, err.param, err.code, { ...err.headers, [ENDPOINT_HEADER]: e.label });
}

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

export class UpstreamClient {
  private readonly id: string;
  private readonly label: string;
  private readonly debug?: DebugLog;
  /** Upstream error messages can quote our key back; they reach clients only through this. */
  private readonly redact = (text: string) => this.cfg.endpoints.redact(text);

  constructor(private readonly cfg: UpstreamClientConfig) {
    this.id = cfg.provider.id;
    this.label = `${cfg.kind} (provider '${this.id}', profile '${cfg.options.profile}')`;
    if (cfg.provider.debug_connections) this.debug = new DebugLog(cfg.log, cfg.endpoints);
  }

  private body(request: Readonly<Json>): string {
    return JSON.stringify(upstreamBody(request, this.cfg.upstreamModel, PROFILES[this.cfg.options.profile], this.label));
  }

  /** A non-streaming call: the upstream's JSON with `model` set to the client's name. */
  async json(op: string, request: Readonly<Json>, ctx: CallContext): Promise<Json | SerializedJson> {
    const body = this.body(request);
    const call = new CallState(ctx, this.id, this.cfg.options.timeouts.total_ms);
    try {
      return await this.withFailover(call, op, body, false, (res, _call, dbg) => this.readJson(res, ctx, dbg));
    } finally {
      call.dispose();
    }
  }

  /** Chat and completions: JSON, or (stream: true) chunks whose first one has already arrived. */
  async generate(op: string, request: Readonly<Json>, ctx: CallContext): Promise<Json | SerializedJson | AsyncIterable<unknown>> {
    if (request.stream !== true) return this.json(op, request, ctx);
    const body = this.body(request);
    const call = new CallState(ctx, this.id, this.cfg.options.timeouts.total_ms);
    try {
      const stream = await this.withFailover(call, op, body, true, (res, c, dbg) => this.openStream(res, c, dbg));
      return stream.relay();
    } catch (err) {
      call.dispose();
      throw err;
    }
  }

  private async withFailover<T>(call: CallState, op: string, body: string, stream: boolean, accept: Accept<T>): Promise<T> {
    const { endpoints } = this.cfg;
    const retry = this.cfg.options.retry;
    let tried: Endpoint[] | undefined;
    let last: { error: ApiError; endpoint: Endpoint } | undefined;
    let heldMs = 0;
    for (let attempt = 0; attempt < retry.attempts; attempt++) {
      const now = Date.now();
      const pick = endpoints.pick(now, tried);
      const e = pick.endpoint;
      heldMs = pick.waitMs;
      if (pick.waitMs > retry.max_retry_after_ms) break;
      const delay = Math.max(pick.waitMs, attempt === 0 ? 0 : backoff(retry, attempt));
      if (delay > 0) {
        if (now + delay >= call.deadline) break;
        await call.sleep(delay);
      }
      try {
        const result = await this.attempt(call, e, op, body, stream, accept);
        endpoints.succeeded(e);
        call.ctx.setHeader(ENDPOINT_HEADER, e.label);
        return result;
      } catch (err) {
        const interrupted = call.interrupted();
        if (interrupted) throw interrupted;
        if (!(err instanceof errors.RetryableFailure)) throw err instanceof ApiError ? withEndpoint(err, e) : err;
        last = { error: err.error, endpoint: e };
        if (err.endpointFault) endpoints.failed(e, Date.now());
        if (err.retryAfterMs !== undefined) endpoints.holdUntil(e, Date.now() + err.retryAfterMs);
        // Every endpoint was cooling down: this request had its one try.
        if (pick.forced && e.coolUntil > Date.now()) break;
        (tried ??= []).push(e);
      }
    }
    if (last) throw withEndpoint(last.error, last.endpoint);
    // No attempt was made: every endpoint is held by a Retry-After longer than we may wait.
    throw errors.rateLimitError(this.id, { message: "every endpoint asked to wait" }, heldMs);
  }

  private headers(e: Endpoint, stream: boolean): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: stream ? "text/event-stream" : "application/json" };
    const key = e.apiKeyEnv ? process.env[e.apiKeyEnv] : undefined;
    if (key) headers.authorization = `Bearer ${key}`;
    return headers;
  }

  private async attempt<T>(call: CallState, e: Endpoint, op: string, body: string, stream: boolean, accept: Accept<T>): Promise<T> {
    const path = e.basePath + op + e.search;
    const headers = this.headers(e, stream);
    const dbg = this.debug?.start(e, call.ctx.requestId, path, headers, body);
    try {
      const options = { path, method: "POST" as const, headers, body };
      const max = this.cfg.options.maxResponseBytes;
      const res = stream ? await exchangeStream(e.pool, options, call.signal, max, this.id) : await exchangeText(e.pool, options, call.signal, max, this.id);
      dbg?.response(res.statusCode, res.headers);
      if (res.statusCode < 200 || res.statusCode >= 300) return await this.statusFailure(res, e, dbg);
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

  private async statusFailure(res: UpstreamResponse, e: Endpoint, dbg: DebugCall | undefined): Promise<never> {
    const text = await res.text();
    dbg?.body(text);
    const status = res.statusCode;
    const info = errors.parseErrorBody(text, status, this.redact);
    if (status === 401 || status === 403) {
      if (e.apiKeyEnv && !process.env[e.apiKeyEnv]) info.message += "; the API key variable configured for this endpoint is not set";
      throw new errors.RetryableFailure(errors.authError(this.id, status, info), true);
    }
    if (status === 429) {
      const wait = errors.retryAfterMs(res.headers, Date.now());
      throw new errors.RetryableFailure(errors.rateLimitError(this.id, info, wait), false, wait);
    }
    if (status === 408) throw new errors.RetryableFailure(new GatewayTimeoutError(`${this.id}: the upstream timed out (HTTP 408)`), true);
    if (status >= 500) {
      const wait = status === 503 ? errors.retryAfterMs(res.headers, Date.now()) : undefined;
      throw new errors.RetryableFailure(errors.serverError(this.id, status, info), true, wait);
    }
    if (status >= 400) throw errors.clientError(this.id, status, info, {});
    throw new UpstreamError(502, `${this.id}: unexpected HTTP ${status} from the upstream`);
  }

  private async readJson(res: UpstreamResponse, ctx: CallContext, dbg: DebugCall | undefined): Promise<Json | SerializedJson> {
    const text = await res.text();
    if (dbg) {
      dbg.body(text);
      dbg.end("complete");
    }
    const relayed = relayUnparsed(text, ctx.requestedModel, MAX_UPSTREAM_JSON_DEPTH);
    if (relayed) return relayed;
    const out = this.parseObject(text);
    if (errors.isErrorPayload(out)) throw errors.streamPayloadError(this.id, errors.errorInfoFromPayload(out, this.redact));
    out.model = ctx.requestedModel;
    return out;
  }

  private parseObject(text: string): Json {
    // Checked on the text: the parsed object is serialized again (JSON.stringify recurses).
    if (jsonNestsDeeperThan(text, MAX_UPSTREAM_JSON_DEPTH)) throw tooDeep(this.id);
    let out: unknown;
    try {
      out = JSON.parse(text);
    } catch {
      out = undefined;
    }
    if (!isObject(out)) throw new UpstreamError(502, `${this.id}: the upstream's response is not a JSON object`, "upstream_protocol_error");
    return out;
  }

  private async openStream(res: UpstreamResponse, call: CallState, dbg: DebugCall | undefined): Promise<ChunkStream> {
    if (String(res.headers["content-type"] ?? "").includes("application/json")) {
      const text = await res.text();
      dbg?.body(text);
      const out = this.parseObject(text);
      if (errors.isErrorPayload(out)) throw errors.streamPayloadError(this.id, errors.errorInfoFromPayload(out, this.redact));
      throw new UpstreamError(502, `${this.id}: the upstream answered a streaming request without an event stream`, "upstream_protocol_error");
    }
    // The body is read only as fast as the client's SSE writer pulls chunks (see stream-exchange.ts).
    if (!(res instanceof StreamedResponse)) throw new Error("openStream needs a streamed response");
    const events = sseEvents(res.body, this.cfg.options.maxResponseBytes, dbg ? (text) => dbg.chunk(text) : undefined)[Symbol.asyncIterator]();
    const stream = new ChunkStream(events, {
      providerId: this.id,
      requestedModel: call.ctx.requestedModel,
      redact: this.redact,
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
