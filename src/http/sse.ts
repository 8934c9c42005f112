import type { Response } from "express";
import type { Logger } from "pino";
import { ClientAbortError } from "../errors.js";
import { toApiError } from "./error-middleware.js";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
};

const frame = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

/**
 * The one SSE writer. Nothing is written until the first event exists, so an error raised before it
 * is still an ordinary HTTP error (thrown to the caller). After the first byte an error becomes an
 * in-band `data: {"error":...}` frame, and every stream ends with `data: [DONE]`.
 */
export async function writeSse(
  res: Response,
  events: AsyncIterable<unknown>,
  ctx: { signal: AbortSignal; requestId: string; log: Logger; headers?: Record<string, string> },
): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  res.writeHead(200, { ...SSE_HEADERS, ...ctx.headers });
  try {
    for (let step = first; !step.done; step = await iterator.next()) {
      if (ctx.signal.aborted) throw new ClientAbortError();
      res.write(frame(step.value));
    }
  } catch (err) {
    if (ctx.signal.aborted || err instanceof ClientAbortError) {
      await iterator.return?.();
      res.end();
      return;
    }
    res.write(frame(toApiError(err, ctx.requestId, ctx.log).toBody()));
  }
  res.end("data: [DONE]\n\n");
}
