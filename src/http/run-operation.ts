/**
 * Runs one implemented operation once its body is parsed and validated: the same path for the
 * express routes and the JSON fast path. Client disconnect aborts the handler's work.
 */
import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Handler, HandlerCall, HandlerResult } from "../handlers/types.js";
import type { Services } from "../services.js";
import { toApiError } from "./error-middleware.js";
import { sendError, writeJson } from "./respond.js";
import { writeSse } from "./sse.js";

/** A handler call without what the runner adds (abort signal, services, logger). */
export type OperationInput = Omit<HandlerCall, "signal" | "services" | "log">;

export async function runOperation(handler: Handler, input: OperationInput, res: ServerResponse, services: Services, log: Logger): Promise<void> {
  const controller = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) controller.abort();
  });
  const call = { ...input, signal: controller.signal, services, log };
  try {
    await send(res, await handler(call), call);
  } catch (err) {
    if (controller.signal.aborted || res.headersSent) return void res.end();
    sendError(res, toApiError(err, input.requestId, log, input.body));
  }
}

async function send(res: ServerResponse, result: HandlerResult, call: { signal: AbortSignal; requestId: string; log: Logger }): Promise<void> {
  if (result.kind === "json") return writeJson(res, result.status ?? 200, result.body, result.headers);
  try {
    await writeSse(res, result.events, { ...call, headers: result.headers });
  } finally {
    result.onEnd?.();
  }
}
