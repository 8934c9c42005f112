/**
 * What one kind of upstream server speaks: its paths, auth and protocol headers, how a request is
 * encoded and how its answers, streams and errors are decoded, and its config keys and checks.
 * Everything else of talking to an upstream (URL sets, failover, cooldown, timeouts, undici, the SSE
 * reader, limits, debug logs, status -> retry mapping) is shared, in this folder, and never asks
 * which dialect it serves: a new upstream protocol is one folder under dialects/ plus one line in
 * backends/registry.ts.
 */
import type { EventSourceMessage } from "eventsource-parser";
import type { BackendMethod } from "../../core/operations.js";
import type { SerializedJson } from "../../core/serialized-json.js";
import type { SseFrame } from "../../core/sse-frame.js";
import type { CreateContext, JsonSchema, Provider } from "../types.js";
import type { Redact, UpstreamErrorInfo } from "./upstream-errors.js";

export type Json = Record<string, unknown>;

/**
 * Calls a dialect makes in a protocol of its own rather than the internal (OpenAI chat) one: the
 * BackendInstance's native `messages` and `countMessageTokens` (Anthropic's Messages API, relayed
 * as it is) and `responses` (OpenAI's Responses API, relayed as it is). Kept here, not in
 * core/operations.ts: they are not endpoints of their own.
 */
export type NativeMethod = "messages" | "countMessageTokens" | "responses";
/** Every kind of call an upstream client makes. */
export type UpstreamMethod = BackendMethod | NativeMethod;

/**
 * An upstream answer (or one stream chunk) in the internal shape (OpenAI's, src/core/openai-shapes.ts):
 * JSON text written as it is (a relay that need not parse), or an object the writers serialize.
 * A native call's stream chunks are named SSE frames (e.g. Anthropic's `message_start`).
 */
export type Decoded = SerializedJson | Json | SseFrame;

/** What decoding needs to know of the call. */
export interface DecodeContext {
  providerId: string;
  /** The model name the client asked for: decoded answers carry it in `model`. */
  requestedModel: string;
  /** Removes configured keys from upstream text (an upstream may quote our key back). */
  redact: Redact;
  /** The request as the backend was given it (a dialect that translates may need it to read the answer). */
  request: Readonly<Json>;
}

/**
 * Turns one streamed response's SSE events into chunks. Fed one network read's events at a time
 * (with their `event` names), so the layers above await once per read, not once per event.
 */
export interface StreamDecoder {
  /**
   * Pushes the chunks of `events` onto `out`, in order, and returns how many events it read: all of
   * them unless one ended the stream (that one counted). Throws an ApiError for an error event or a
   * broken one; the chunks pushed before it still reach the client, then the error does.
   */
  decode(events: readonly EventSourceMessage[], out: Decoded[]): number;
  /** An event said the stream is over (OpenAI's `[DONE]`); what follows is not relayed. */
  readonly ended: boolean;
  /** The response was complete (a finish reason was seen), so a stream ending without `ended` is not truncated. */
  readonly complete: boolean;
}

/** A dialect's view of one provider, its settings resolved once per backend instance. */
export interface Codec {
  /** Names the backend, the provider and its settings in the client's 400s. */
  readonly label: string;
  /** Top-level request fields the spec does not declare go upstream unchanged (else a 400). */
  readonly passesExtraFields: boolean;
  /**
   * Adds the auth and protocol headers to `headers` (which holds content-type and accept). `key` is
   * the value of the URL's api_key_env, when configured and set.
   */
  addHeaders(headers: Record<string, string>, key: string | undefined): void;
  /** The body sent upstream, with the upstream's model name; an ApiError (a 400) for what it cannot carry. */
  encode(method: UpstreamMethod, request: Readonly<Json>, upstreamModel: string): string;
  /** A 2xx JSON body as the internal answer; an ApiError for an error payload or a body that is not one. */
  decodeResponse(method: UpstreamMethod, text: string, ctx: DecodeContext): Decoded;
  /** A non-2xx body's error (cleaned: redacted and cut to size, see upstream-errors.ts). */
  decodeError(text: string, status: number, ctx: DecodeContext): UpstreamErrorInfo;
  /** A fresh decoder for one streamed response. */
  streamDecoder(method: UpstreamMethod, ctx: DecodeContext): StreamDecoder;
  /**
   * A 5xx that says the upstream is overloaded rather than broken (Anthropic's 529
   * `overloaded_error`): retried like any 5xx, then a 503 instead of a 502. Absent: never.
   */
  overloaded?(status: number, info: UpstreamErrorInfo): boolean;
}

export interface Dialect {
  /** The backend kind, which is also the providers.yaml `type`. */
  readonly kind: string;
  /** The backend methods served, each by the path appended to the URL's path (e.g. `/chat/completions`). */
  readonly paths: Readonly<Partial<Record<BackendMethod, string>>>;
  /** The native methods served (BackendInstance.messages, countMessageTokens), each by its path. */
  readonly nativePaths?: Readonly<Partial<Record<NativeMethod, string>>>;
  /**
   * Native methods a provider's own settings turn on (openai-compatible `responses: native`), each
   * by its path; added to `nativePaths`. Absent, or a method left out: the backend lacks it.
   */
  nativePathsOf?(provider: Provider): Readonly<Partial<Record<NativeMethod, string>>>;
  /** The URL used when a provider lists no `endpoints` (a public API with one well-known address). */
  readonly defaultEndpoint?: { readonly url: string; readonly api_key_env?: string };
  /** providers.yaml keys this dialect adds to the shared ones (JSON Schemas by key). */
  readonly providerProperties?: Readonly<Record<string, JsonSchema>>;
  /** local_settings keys this dialect adds to `provider` and `upstream_model` (JSON Schemas by key). */
  readonly settingsProperties?: Readonly<Record<string, JsonSchema>>;
  /** upstream_model when a registration leaves it out (a server that ignores it); absent, it is required. */
  readonly defaultUpstreamModel?: string;
  /** Checks of the provider a registration names, beyond the schema (reported against `provider`). */
  checkProvider?(provider: Provider, problem: (message: string) => void): void;
  /** A problem with one configured URL (e.g. a path the dialect cannot use), or undefined. */
  checkUrl?(url: URL): string | undefined;
  /**
   * The provider's codec, made once per backend instance. `create` is the registration's (its
   * local_settings; registration-level defaults a dialect may need, e.g. a required max_tokens).
   */
  codec(provider: Provider, create: CreateContext): Codec;
}
