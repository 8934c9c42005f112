/**
 * Runs one implemented operation once its body is parsed and validated: the same path for the
 * express routes and the JSON fast path. Client disconnect aborts the handler's work. Errors and
 * stream endings are the operation's surface's (src/surfaces/).
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Handler, HandlerCall, HandlerResult } from "../handlers/types.js";
import type { Services } from "../services.js";
import { toApiError } from "./error-middleware.js";
import { cutIfNotFlushed, sendError, writeJson } from "./respond.js";
import { writeSse } from "./sse.js";
import { ClientAbort } from "./client-abort.js";
import type { Surface } from "../surfaces/types.js";
import type { ApiKey } from "../core/api-key.js";
import { resolveForKey } from "../config/keys.js";
import { apiKeyOf } from "./auth.js";
import type { Limiter } from "../limits/limiter.js";
import { jsonObjectOf } from "../core/serialized-json.js";
import type { RequestTrace } from "../core/telemetry.js";
import { traceOf } from "./request-id.js";
import { traceAnswer, traceOperation } from "./request-log.js";
import { usageFromStream } from "./usage-tokens.js";
import type { Lifecycle } from "./lifecycle.js";

/** A handler call without what the runner adds (client abort, the caller's key, services, logger). */
export type OperationInput = Omit<HandlerCall, "client" | "key" | "services" | "log">;

export interface RunOptions {
  /** A response the client stops reading for this long is cut (see HttpLimits.writeStallMs). */
  writeStallMs: number;
  /** Per-key limits (keys.yaml's rpm, tpm, max_concurrent); absent: none are applied. */
  limiter?: Limiter;
  /** The server-wide concurrency cap and the drain (lifecycle.ts); absent: neither applies. */
  lifecycle?: Lifecycle;
}

/** An implemented operation: its handler and the surface that speaks for it. */
export interface Served {
  handler: Handler;
  surface: Surface;
}

export async function runOperation(
  served: Served,
  input: OperationInput,
  res: ServerResponse,
  services: Services,
  log: Logger,
  options: RunOptions,
): Promise<void> {
  const client = new ClientAbort();
  res.on("close", () => {
    if (!res.writableFinished) client.abort();
  });
  // Field by field, not `{ ...input, client }` and never with a getter: built those ways on Node 20,
  // each request's whole object graph survived minor GCs (a 2 MB promotion every ~100 requests
  // and 3-5 ms pauses at p99).
  const { operationId, body, params, query, headers, requestId } = input;
  const key = apiKeyOf(res);
  const trace = traceOf(res);
  if (trace !== undefined) traceOperation(trace, served.surface.name, operationId, body);
  const call: HandlerCall = { operationId, body, params, query, headers, requestId, key, client, services, log, trace };
  const sending: Sending = { client, requestId: input.requestId, log, writeStallMs: options.writeStallMs, trace, lifecycle: options.lifecycle };
  // The server-wide cap (a counter) before any work: a 503 server_busy in the surface's shape.
  const lifecycle = options.lifecycle;
  if (lifecycle !== undefined) {
    try {
      lifecycle.enter();
    } catch (err) {
      return sendError(res, served.surface, toApiError(err, input.requestId, log));
    }
  }
  try {
    if (key === undefined) {
      // A JSON answer is written at once: no `await` on it (awaiting nothing still costs a microtask turn).
      const streaming = send(res, await served.handler(call), served.surface, sending);
      if (streaming !== undefined) await streaming;
    } else await runKeyed(served, call, key, res, sending, options.limiter);
  } catch (err) {
    if (client.aborted || res.headersSent) return void res.end();
    sendError(res, served.surface, toApiError(err, input.requestId, log, input.body));
  } finally {
    lifecycle?.leave();
  }
}

/**
 * A request let in with a key: its allow-list is checked, then the limiter admits it (or refuses it
 * with a 429) before any work; the answer carries the key's rate-limit headers, and the ticket is
 * ended once the answer is over with the tokens the answer reported (a stream's usage frame included).
 */
async function runKeyed(served: Served, call: HandlerCall, key: ApiKey, res: ServerResponse, sending: Sending, limiter: Limiter | undefined): Promise<void> {
  if (key.models !== undefined) checkModelAccess(call, key);
  const ticket = limiter === undefined ? undefined : await limiter.admit(key);
  if (ticket === undefined) return send(res, await served.handler(call), served.surface, sending);
  let tokens = 0;
  try {
    const result = await served.handler(call);
    if (result.kind === "json" && key.tpm !== undefined && sending.trace === undefined) tokens = reportedTokens(result.body);
    await send(res, withHeaders(result, ticket.headers), served.surface, sending);
  } finally {
    // The trace holds what the answer reported once it is sent, streams included (request-log.ts).
    ticket.end(sending.trace === undefined ? tokens : tracedTokens(sending.trace));
  }
}

function tracedTokens(trace: RequestTrace): number {
  if (trace.stream) usageFromStream(trace);
  return Math.max(0, trace.tokensIn) + Math.max(0, trace.tokensOut);
}

function withHeaders(result: HandlerResult, extra: Readonly<Record<string, string>>): HandlerResult {
  if (Object.keys(extra).length === 0) return result;
  return { ...result, headers: { ...result.headers, ...extra } };
}

const count = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? v : 0);

/** The tokens a JSON answer says it used: OpenAI's `usage.total_tokens` (or its parts), Anthropic's input and output tokens; 0 when it says none. */
export function reportedTokens(body: unknown): number {
  let usage: unknown;
  try {
    usage = jsonObjectOf(body)?.usage;
  } catch {
    return 0;
  }
  if (typeof usage !== "object" || usage === null) return 0;
  const u = usage as Record<string, unknown>;
  if (typeof u.total_tokens === "number") return count(u.total_tokens);
  return count(u.prompt_tokens) + count(u.completion_tokens) + count(u.input_tokens) + count(u.output_tokens);
}

/**
 * A key with an allow-list: the model the request names (a body's `model`, retrieveModel's path) is
 * checked before any handler, so no surface's own lookup (Sourcegraph's code-model check) can tell
 * a model that exists from one that does not. Inference resolves again for the endpoint (handlers/inference.ts).
 */
function checkModelAccess(call: HandlerCall, key: ApiKey): void {
  const named = call.operationId === "retrieveModel" ? call.params.model : (call.body as { model?: unknown } | undefined)?.model;
  if (typeof named === "string") resolveForKey(call.services.config.current().index, named, undefined, key);
}

interface Sending {
  client: ClientAbort;
  requestId: string;
  log: Logger;
  writeStallMs: number;
  trace: RequestTrace | undefined;
  lifecycle?: Lifecycle;
}

/** Writes the answer: a JSON one at once (nothing to await), a stream as its frames come (a promise). */
function send(res: ServerResponse, result: HandlerResult, surface: Surface, call: Sending): Promise<void> | undefined {
  if (call.trace !== undefined) result = traceAnswer(call.trace, result);
  if (result.kind === "json") {
    writeJson(res, result.status ?? 200, result.body, result.headers);
    cutIfNotFlushed(res, call.writeStallMs);
    return undefined;
  }
  return sendStream(res, result, surface, call);
}

async function sendStream(res: ServerResponse, result: Extract<HandlerResult, { kind: "stream" }>, surface: Surface, call: Sending): Promise<void> {
  try {
    await writeSse(res, result.frames, surface, { ...call, headers: result.headers });
  } finally {
    result.onEnd?.();
  }
}
