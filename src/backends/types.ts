/**
 * The one interface every backend implements. Backends never import express: they take a merged,
 * frozen OpenAI request and return an OpenAI-shaped result or an async iterable of OpenAI chunks.
 */
import type { Logger } from "pino";
import type { components } from "../generated/openai.js";
import type { SerializedJson } from "../core/serialized-json.js";
import type { ClientDisconnect } from "../core/client-disconnect.js";
import type { EndpointId } from "../core/operations.js";
import type { SseFrame } from "../core/sse-frame.js";

export type ChatRequest = components["schemas"]["CreateChatCompletionRequest"];
export type ChatResponse = components["schemas"]["CreateChatCompletionResponse"];
export type ChatChunk = components["schemas"]["CreateChatCompletionStreamResponse"];
export type CompletionRequest = components["schemas"]["CreateCompletionRequest"];
export type CompletionResponse = components["schemas"]["CreateCompletionResponse"];
export type EmbeddingRequest = components["schemas"]["CreateEmbeddingRequest"];
export type EmbeddingResponse = components["schemas"]["CreateEmbeddingResponse"];
/** Anthropic's Messages API (patches/002-anthropic-messages.yaml): only backends that speak it natively take these. */
export type AnthropicMessageRequest = components["schemas"]["AnthropicCreateMessageRequest"];
export type AnthropicMessage = components["schemas"]["AnthropicMessage"];
export type AnthropicCountTokensRequest = components["schemas"]["AnthropicCountMessageTokensRequest"];
export type AnthropicTokensCount = components["schemas"]["AnthropicMessageTokensCount"];

/** A JSON Schema (draft 2020-12) object. */
export type JsonSchema = Record<string, unknown>;

export interface Provider {
  id: string;
  display_name: string;
  type: string;
  api_version: string;
  endpoints: readonly { url: string; api_key_env?: string; weight: number }[];
  debug_connections: boolean;
  [setting: string]: unknown;
}

/** What a backend is given for each call. */
export interface CallContext {
  /** The model name the client asked for: what it gets back in `model`. */
  requestedModel: string;
  /** Aborts the call's work when the client disconnects. */
  client: ClientDisconnect;
  requestId: string;
  log: Logger;
  /** Response headers a backend wants sent (e.g. which upstream endpoint served). */
  setHeader(name: string, value: string): void;
  /**
   * Request headers of the client's protocol that an upstream speaking the same protocol natively
   * gets too (Anthropic's `anthropic-beta`), set by the surface for its native calls only. They
   * never replace the headers the upstream's dialect sets (auth, version, content type).
   */
  passOnHeaders?: Readonly<Record<string, string>>;
}

export type Streamed<T> = AsyncIterable<T>;

export interface BackendInstance {
  /** A SerializedJson result is the response's JSON text, written as it is. */
  chat?(req: Readonly<ChatRequest>, ctx: CallContext): Promise<ChatResponse | SerializedJson | Streamed<ChatChunk>>;
  completion?(req: Readonly<CompletionRequest>, ctx: CallContext): Promise<CompletionResponse | SerializedJson | Streamed<unknown>>;
  embeddings?(req: Readonly<EmbeddingRequest>, ctx: CallContext): Promise<EmbeddingResponse | SerializedJson>;
  /**
   * Anthropic's Messages API spoken natively (an `anthropic` upstream): the request goes as the
   * client sent it (merged), with no round trip through chat, so nothing is lost (cache_control,
   * thinking, unknown block types). The result is the Message JSON with `model` set to the client's
   * name, or (stream: true) the upstream's named events as SSE frames. Backends without it serve
   * `/v1/messages` through `chat`, translated by the anthropic surface.
   */
  messages?(req: Readonly<AnthropicMessageRequest>, ctx: CallContext): Promise<AnthropicMessage | SerializedJson | Streamed<SseFrame>>;
  /**
   * OpenAI's Responses API spoken natively (an openai-compatible upstream whose provider sets
   * `responses: native`: OpenAI, recent vLLM): the request goes as the client sent it (merged) with
   * `model` replaced by the registration's upstream model, so built-in tools, reasoning and stored
   * state are the upstream's. The result is the Response JSON with `model` set to the client's
   * name, or (stream: true) the upstream's named events as SSE frames, the Response objects inside
   * `response.*` lifecycle events carrying the client's name too. Backends without it serve
   * `/v1/responses` through `chat`, translated by the responses surface.
   */
  responses?(req: Readonly<Record<string, unknown>>, ctx: CallContext): Promise<Record<string, unknown> | SerializedJson | Streamed<SseFrame>>;
  /** Anthropic's count_tokens spoken natively (an `anthropic` upstream). */
  countMessageTokens?(req: Readonly<AnthropicCountTokensRequest>, ctx: CallContext): Promise<AnthropicTokensCount | SerializedJson>;
  /** The prompt tokens of a chat request with the model's tokenizer and chat template (backends that have them: llama-cpp). */
  countTokens?(req: Readonly<ChatRequest>, ctx: CallContext): Promise<number>;
  /**
   * Whether top-level request fields the extended spec does not declare go on to the backend
   * unchanged (an upstream that takes vLLM's extra sampling fields). Absent or false: such a field
   * is a 400 `unknown_parameter`, since the backend would otherwise drop it silently.
   */
  readonly passesExtraFields?: boolean;
  /** Whether the backend holds its model in memory now (backends that load nothing omit it). */
  loaded?(): boolean;
  /** Loads heavy resources now (registrations with `load: eager`, the admin page's load button). */
  warm?(): Promise<void>;
  /** Frees what warm loaded (the admin page's unload button); a backend with work in flight refuses (ModelBusyError). */
  unload?(): Promise<void>;
  /** What the admin page shows of the backend now: cheap, read on demand, never per request. */
  status?(): BackendStatus;
  /** Called once the snapshot that created the instance is retired and idle. */
  release?(): Promise<void>;
}

/** A backend's live state as the admin page shows it (GET /admin/api/overview). Absent counts: the backend has none. */
export interface BackendStatus {
  /** Whether the model is in memory; null: the backend loads nothing (upstreams). */
  loaded: boolean | null;
  /** A load is under way. */
  loading?: boolean;
  /** Why the last load failed (cleared by a load that succeeds). */
  loadError?: string;
  /** Requests waiting for a sequence, sequences generating, and sequences in all (llama-cpp). */
  queueDepth?: number;
  busySequences?: number;
  sequences?: number;
  /** Upstreams: each configured URL's health. */
  urls?: readonly UpstreamUrlStatus[];
}

export interface UpstreamUrlStatus {
  /** `<provider-id>#<index>`, as the x-understudy-endpoint header shows it. */
  label: string;
  /** The configured URL without userinfo or query values (as logs show it). */
  url: string;
  /** Neither cooling down nor held by a Retry-After now. */
  healthy: boolean;
  /** Consecutive failures counted towards the next cooldown (reset when one starts and on success). */
  failures: number;
  /** Epoch ms; 0: not cooling down / not held. */
  coolingUntil: number;
  retryAfterUntil: number;
  /** The last counted failure's message (keys redacted, clipped) and when it happened (epoch ms). */
  lastError?: string;
  lastErrorAt?: number;
}

export interface CreateContext {
  /** The registration's local_settings with paths already resolved. */
  settings: Readonly<Record<string, unknown>>;
  provider?: Provider;
  log: Logger;
}

export interface SettingsCheckContext {
  settings: Record<string, unknown>;
  /** Resolves a path relative to the registration file and checks it stays under the model roots. */
  resolvePath(field: string, value: string): string | undefined;
  problem(field: string, message: string): void;
  providers: ReadonlyMap<string, Provider>;
}

export interface BackendModule {
  kind: string;
  /** JSON Schema for `local_settings` (without `backend`), checked at load time. */
  settingsSchema: JsonSchema;
  /** Endpoints served when a registration does not list them. */
  defaultEndpoints: readonly EndpointId[];
  /** Upstream backends name a provider from providers.yaml. */
  usesProvider: boolean;
  /** The URL its providers use when they list no `endpoints` (absent: `endpoints` is required). */
  defaultProviderEndpoint?: { readonly url: string; readonly api_key_env?: string };
  /** Keys this backend adds to its providers' entries in providers.yaml (JSON Schemas by key). */
  providerProperties?: Readonly<Record<string, JsonSchema>>;
  /** Checks that need more than the schema (files exist, provider known, ...), and path resolution. */
  checkSettings?(ctx: SettingsCheckContext): void;
  /**
   * Checks of a providers.yaml entry of this kind beyond the schema (e.g. a URL with a path the
   * backend cannot use), reported at `path` inside the entry so the error names the file and line.
   */
  checkProvider?(provider: Provider, problem: (path: (string | number)[], message: string) => void): void;
  create(ctx: CreateContext): BackendInstance;
}
