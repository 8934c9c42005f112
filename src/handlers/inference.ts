/**
 * The protocol-independent path of chat, completion and embedding requests: resolve the model,
 * refuse fields the backend would drop, merge the registration with what the client sent, call
 * the backend. A surface (src/surfaces/) turns the result into its protocol's response.
 */
import type { BackendInstance, CallContext } from "../backends/types.js";
import type { EndpointId } from "../core/operations.js";
import { mergeRequest, rejectForbiddenKeys, deepFreeze } from "../config/merge.js";
import type { Registration } from "../config/registration.js";
import { partialBodyValidator } from "../config/request-schema.js";
import { clipEcho, InvalidRequestError, UnknownParameterError } from "../core/errors.js";
import type { HandlerCall } from "./types.js";
import { resolveForKey } from "../config/keys.js";
import { isAsyncIterable } from "../core/async-queue.js";

type Body = Record<string, unknown>;
type Invoke = (backend: BackendInstance, request: Readonly<Body>, ctx: CallContext) => Promise<unknown> | undefined;

/** What the backend answered, before any protocol shaped it. */
export type InferenceResult =
  /** A response body (a SerializedJson is its JSON text). */
  | { kind: "json"; body: unknown; headers: Record<string, string>; debug?: DebugEcho }
  /** Chunks, batched when the backend batches them; `onEnd` must be called once the stream is over. */
  | { kind: "stream"; chunks: AsyncIterable<unknown>; headers: Record<string, string>; onEnd: () => void; debug?: DebugEcho };

/** With `x-localai-extensions.debug`: exactly what the backend was given, for the surface to echo. */
export interface DebugEcho {
  registration: string;
  backend: string;
  request: Readonly<Body>;
}

/** Takes `debug` out of the extensions: the handler honours it, the backend never sees it. */
function splitDebug(merged: Readonly<Body>, reg: Registration): { request: Readonly<Body>; debug: boolean } {
  const ext = merged["x-localai-extensions"] as Body | undefined;
  if (!ext || !("debug" in ext)) return { request: merged, debug: false };
  const { debug, ...rest } = ext;
  if (debug === true && !reg.allow_debug) {
    throw new InvalidRequestError(
      `Debug output is not enabled for the model '${reg.model}' (set registration.allow_debug)`,
      "x-localai-extensions.debug",
      "debug_not_allowed",
    );
  }
  const request: Body = { ...merged };
  if (Object.keys(rest).length > 0) request["x-localai-extensions"] = rest;
  else delete request["x-localai-extensions"];
  return { request: deepFreeze(request), debug: debug === true };
}

/**
 * A top-level field the endpoint's request schema does not declare is OpenAI's 400, unless the
 * backend passes such fields on. Only the client's body is checked: request_defaults and
 * request_overrides were checked against the same schema when the config loaded.
 */
function rejectUnknownFields(body: Body, endpoint: EndpointId, backend: BackendInstance): void {
  if (backend.passesExtraFields) return;
  const known = partialBodyValidator(endpoint).fields;
  for (const field of Object.keys(body)) if (!known.has(field)) throw new UnknownParameterError(field);
}

export async function runInference(call: HandlerCall, endpoint: EndpointId, invoke: Invoke): Promise<InferenceResult> {
  const snapshot = call.services.config.current();
  const leave = snapshot.enter();
  try {
    const body = call.body as Body;
    rejectForbiddenKeys(body);
    const requestedModel = String(body.model);
    // A key with an allow-list (keys.yaml) resolves only the models it may use.
    const reg = call.key?.models === undefined ? snapshot.resolve(requestedModel, endpoint) : resolveForKey(snapshot.index, requestedModel, endpoint, call.key);
    const backend = snapshot.backend(reg);
    rejectUnknownFields(body, endpoint, backend);
    const merged = mergeRequest({ defaults: reg.defaults[endpoint], client: body, overrides: reg.overrides[endpoint] });
    const { request, debug } = splitDebug(merged, reg);
    const headers: Record<string, string> = {};
    const ctx: CallContext = { requestedModel, client: call.client, requestId: call.requestId, log: call.log, setHeader: (k, v) => void (headers[k] = v) };
    const pending = invoke(backend, request, ctx);
    if (!pending) throw new InvalidRequestError(`The model '${clipEcho(requestedModel)}' cannot serve ${endpoint}`, "model", "model_not_supported");
    // The backend's time, for the request log and x-understudy-overhead-ms (everything else is ours).
    const trace = call.trace;
    if (trace !== undefined) {
      trace.registration = reg.model;
      trace.backend = reg.backend;
    }
    const waitStart = performance.now();
    let result: unknown;
    try {
      result = await pending;
    } finally {
      if (trace !== undefined) trace.backendMs += performance.now() - waitStart;
    }
    // Exactly what the backend was given (`debug` itself is the handler's, never the backend's).
    const echo: DebugEcho | undefined = debug ? { registration: reg.model, backend: reg.backend, request } : undefined;
    if (isAsyncIterable(result)) return { kind: "stream", chunks: result, headers, onEnd: leave, debug: echo };
    leave();
    return { kind: "json", body: result, headers, debug: echo };
  } catch (err) {
    leave();
    throw err;
  }
}
