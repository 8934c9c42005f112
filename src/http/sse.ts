import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ClientAbortError } from "../errors.js";
import { toApiError } from "./error-middleware.js";
import { SerializedJson } from "../backends/serialized-json.js";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};

const frame = (data: unknown) => `data: ${data instanceof SerializedJson ? data.json : JSON.stringify(data)}\n\n`;

/**
 * Frames written together: a burst (an upstream's network read, several tokens) becomes one socket
 * write instead of one per frame, and writes are at least MIN_INTERVAL_MS apart. The first writes
 * (the role chunk, then the first content: time to first token) and any write after a quiet
 * spell go out on the next turn of the event loop.
 */
const MIN_INTERVAL_MS = 4;
const IMMEDIATE_WRITES = 2;

class FrameWriter {
  private pending = "";
  private scheduled = false;
  private lastWrite = 0;
  private writes = 0;

  constructor(private readonly res: ServerResponse) {}

  push(text: string): void {
    this.pending += text;
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.writes < IMMEDIATE_WRITES ? 0 : this.lastWrite + MIN_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending === "" || this.res.writableEnded) return;
    this.res.write(this.pending);
    this.pending = "";
    this.lastWrite = performance.now();
    this.writes++;
  }

  end(last: string): void {
    const text = this.pending + last;
    this.pending = "";
    this.res.end(text);
  }
}

/**
 * The one SSE writer. Nothing is written until the first event exists, so an error raised before it
 * is still an ordinary HTTP error (thrown to the caller). After the first byte an error becomes an
 * in-band `data: {"error":...}` frame, and every stream ends with `data: [DONE]`.
 */
export async function writeSse(
  res: ServerResponse,
  events: AsyncIterable<unknown>,
  ctx: { client: { readonly aborted: boolean }; requestId: string; log: Logger; headers?: Record<string, string> },
): Promise<void> {
  const iterator = events[Symbol.asyncIterator]();
  const first = await iterator.next();
  res.writeHead(200, { ...SSE_HEADERS, ...ctx.headers });
  const out = new FrameWriter(res);
  try {
    for (let step = first; !step.done; step = await iterator.next()) {
      if (ctx.client.aborted) throw new ClientAbortError();
      out.push(frame(step.value));
    }
  } catch (err) {
    if (ctx.client.aborted || err instanceof ClientAbortError) {
      await iterator.return?.();
      res.end();
      return;
    }
    out.push(frame(toApiError(err, ctx.requestId, ctx.log).toBody()));
  }
  out.end("data: [DONE]\n\n");
}
