/**
 * Both operations: the model (the client's, else the default this operation names), the prompt
 * version, the deadline, the chat call, and its answer in Sourcegraph's shape.
 */
import type { BackendInstance, CallContext } from "../../backends/types.js";
import type { EndpointId } from "../../core/operations.js";
import { ApiError, clipEcho, InvalidRequestError } from "../../core/errors.js";
import { runInference } from "../../handlers/inference.js";
import { partialBodyValidator } from "../../config/request-schema.js";
import type { HandlerCall, HandlerResult } from "../../handlers/types.js";
import type { SseFrame } from "../../core/sse-frame.js";
import { completionFrames, completionFromChat, readChatChunks } from "./answer.js";
import { completionFromMessage, readMessageEvents, toMessagesRequest } from "./native.js";
import { Deadline } from "./deadline.js";
import { inSourcegraphTerms } from "./errors.js";
import { toChatRequest } from "./to-chat.js";
import { isAsyncIterable } from "../../core/async-queue.js";

type Body = Record<string, unknown>;

/** The names the config resolves to its default models (defaults.yaml `default_models`). */
export const DEFAULT_CHAT = "default-chat";
export const DEFAULT_FAST_CHAT = "default-fast-chat";
export const DEFAULT_CODE_COMPLETION = "default-code-completion";

/** The capability that lets a registration serve /code (Sourcegraph calls it "autocomplete"). */
const CODE_CAPABILITIES = ["code_completion"];

/** `api-version` (validated as 1 to 4 digits); absent is the legacy form, 0. */
function versionOf(query: Record<string, unknown>): number {
  const raw = query["api-version"];
  return typeof raw === "string" ? Number(raw) : 0;
}

function modelOf(body: Body, endpoint: EndpointId): string {
  if (typeof body.model === "string") return body.model;
  if (endpoint === "createSourcegraphCodeCompletion") return DEFAULT_CODE_COMPLETION;
  return body.fast === true ? DEFAULT_FAST_CHAT : DEFAULT_CHAT;
}

const notForCode = (model: string) =>
  new InvalidRequestError(`model "${clipEcho(model)}" is not configured for code completion`, "model", "model_not_supported");

/** /code only on a registration that lists the endpoint and has a code completion capability. */
function checkCodeModel(call: HandlerCall, model: string): void {
  let capabilities: readonly string[];
  try {
    capabilities = call.services.config.current().resolve(model, "createSourcegraphCodeCompletion").capabilities;
  } catch (err) {
    if (err instanceof ApiError && err.code === "model_not_supported") throw notForCode(model);
    throw err;
  }
  if (!capabilities.some((c) => CODE_CAPABILITIES.includes(c))) throw notForCode(model);
}

interface Call {
  version: number;
  deadline: Deadline;
  model: string;
}

/** The call: natively on a backend that speaks the Messages API (when it can: max_tokens is required there), else through chat. */
function send(backend: BackendInstance, request: Body, ctx: CallContext, version: number): { answer: Promise<unknown>; native: boolean } {
  if (backend.messages && (request.maxTokensToSample !== undefined || !backend.chat))
    return { answer: backend.messages(toMessagesRequest(request, version), ctx), native: true };
  return { answer: backend.chat!(toChatRequest(request, version), ctx), native: false };
}

/** Undefined (answered "cannot serve" by runInference) for a backend that has no chat. */
function invoke(backend: BackendInstance, request: Readonly<Body>, ctx: CallContext, how: Call): Promise<unknown> | undefined {
  return backend.chat || backend.messages ? answerOf(backend, request, ctx, how) : undefined;
}

async function answerOf(backend: BackendInstance, request: Readonly<Body>, ctx: CallContext, { version, deadline, model }: Call): Promise<unknown> {
  try {
    const sent = send(backend, request as Body, { ...ctx, client: deadline }, version);
    const answer = await deadline.race(sent.answer);
    if (isAsyncIterable(answer)) return completionFrames(answer, sent.native ? readMessageEvents : readChatChunks, { version, deadline, source: model });
    return sent.native ? completionFromMessage(answer) : completionFromChat(answer);
  } catch (err) {
    if (deadline.timedOut) throw deadline.error();
    throw inSourcegraphTerms(err);
  }
}

/**
 * The body without the top-level fields its schema does not declare. Sourcegraph's own server
 * ignores them, and Cody releases add fields (a newer client must not get a 400 for one); the other
 * surfaces refuse them, as OpenAI and Anthropic do.
 */
function declaredOnly(body: Body, endpoint: EndpointId): Body {
  const known = partialBodyValidator(endpoint).fields;
  let kept: Body | undefined;
  for (const field of Object.keys(body)) {
    if (known.has(field)) continue;
    kept ??= { ...body };
    delete kept[field];
  }
  return kept ?? body;
}

export async function complete(call: HandlerCall, endpoint: EndpointId): Promise<HandlerResult> {
  const body = declaredOnly(call.body as Body, endpoint);
  const model = modelOf(body, endpoint);
  if (endpoint === "createSourcegraphCodeCompletion") checkCodeModel(call, model);
  const version = versionOf(call.query);
  const deadline = new Deadline(call.client, typeof body.timeoutMs === "number" ? body.timeoutMs : undefined);
  try {
    const withModel: HandlerCall = body.model === model && body === call.body ? call : { ...call, body: { ...body, model } };
    const result = await runInference(withModel, endpoint, (backend, request, ctx) => invoke(backend, request, ctx, { version, deadline, model }));
    if (result.kind === "json") {
      deadline.dispose();
      return { kind: "json", body: result.body, headers: result.headers };
    }
    const onEnd = () => {
      deadline.dispose();
      result.onEnd();
    };
    return { kind: "stream", frames: result.chunks as AsyncIterable<SseFrame>, headers: result.headers, onEnd };
  } catch (err) {
    deadline.dispose();
    throw err;
  }
}
