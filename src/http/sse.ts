import type { ServerResponse } from "node:http";
import type { Logger } from "pino";
import { ClientAbortError, ServerShuttingDownError } from "../core/errors.js";
import { toApiError } from "./error-middleware.js";
import { sseFrameText, type SseFrame } from "../core/sse-frame.js";
import { batchesOf } from "../core/async-queue.js";
import type { StreamPolicy } from "../surfaces/types.js";
import { writeHead } from "./request-id.js";
import { cutIfNotFlushed } from "./respond.js";
import type { Lifecycle } from "./lifecycle.js";
import type { RequestTrace } from "../core/telemetry.js";
import { keepUsageBatch } from "./request-log.js";

const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache",
  "X-Accel-Buffering": "no",
};

function framesText(batch: readonly SseFrame[]): string {
  let text = "";
  for (let i = 0; i < batch.length; i++) text += sseFrameText(batch[i]);
  return text;
}

/**
 * Frames written together: a burst (an upstream's network read, several tokens) becomes one socket
 * write instead of one per frame, and writes are at least MIN_INTERVAL_MS apart. The first writes
 * (the role chunk, then the first content: time to first token) and any write after a quiet
 * spell go out on the next turn of the event loop.
 */
const MIN_INTERVAL_MS = 4;
const IMMEDIATE_WRITES = 2;
/** Pending text this long is written at once: a producer that never yields cannot grow it further. */
const FLUSH_AT_CHARS = 64 * 1024;

const noop = () => undefined;

/**
 * Backpressure: when a write finds the socket's buffer full, `backpressure` holds a promise until
 * the client takes the data ('drain'). The writer's caller stops pulling events meanwhile, so an
 * upstream's reading pauses and a local generation waits. A client that takes nothing for
 * `stallMs` is cut: the socket is destroyed (which aborts the request's work) and the promise
 * rejects with ClientAbortError, as it does when the client goes.
 */
class FrameWriter {
  private pending = "";
  private scheduled = false;
  private lastWrite = 0;
  private writes = 0;
  private drain?: Promise<void>;

  constructor(
    private readonly res: ServerResponse,
    private readonly stallMs: number,
    private readonly onStall: () => void,
  ) {}

  /** Undefined while the client keeps up; else settles when it has drained (rejects when it is cut or gone). */
  get backpressure(): Promise<void> | undefined {
    return this.drain;
  }

  push(text: string): void {
    this.pending += text;
    if (this.pending.length >= FLUSH_AT_CHARS) return this.write();
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.writes < IMMEDIATE_WRITES ? 0 : this.lastWrite + MIN_INTERVAL_MS - performance.now();
    if (wait > 0) setTimeout(() => this.flush(), wait);
    else setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    this.write();
  }

  private write(): void {
    if (this.pending === "" || this.res.writableEnded || this.res.destroyed) return;
    const taken = this.res.write(this.pending);
    this.pending = "";
    this.lastWrite = performance.now();
    this.writes++;
    if (!taken) this.waitForDrain();
  }

  private waitForDrain(): void {
    if (this.drain || this.res.destroyed) return;
    const res = this.res;
    this.drain = new Promise<void>((resolve, reject) => {
      const settle = (err?: Error) => {
        clearTimeout(timer);
        res.off("drain", onDrain);
        res.off("close", onClose);
        this.drain = undefined;
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => settle();
      const onClose = () => settle(new ClientAbortError());
      const timer = setTimeout(() => {
        settle(new ClientAbortError());
        this.onStall();
        res.destroy();
      }, this.stallMs);
      res.on("drain", onDrain);
      res.on("close", onClose);
    });
    // Settled whether or not the caller is awaiting it at that moment.
    this.drain.catch(noop);
  }

  end(last: string): void {
    // A stream the drain already ended (see writeSse).
    if (this.res.writableEnded) return;
    const text = this.pending + last;
    this.pending = "";
    this.res.end(text);
  }
}

export interface SseContext {
  client: { readonly aborted: boolean };
  requestId: string;
  log: Logger;
  headers?: Record<string, string>;
  /** A client that reads nothing for this long is cut (HttpLimits.writeStallMs). */
  writeStallMs: number;
  /** While the server drains, a stream still open when the grace ends is ended in band (lifecycle.ts). */
  lifecycle?: Lifecycle;
  /** The request's trace: the batches that may report usage are kept on it (request-log.ts). */
  trace?: RequestTrace;
}

/**
 * The one SSE writer, for every surface. Nothing is written until the first frame exists, so an
 * error raised before it is still an ordinary HTTP error (thrown to the caller, answered in the
 * surface's shape). After the first byte an error becomes the surface's in-band frames
 * (`policy.errorFrames`), and every stream that is not cut ends with the surface's end-of-stream
 * frame, if it has one (OpenAI: `data: [DONE]`). Frames are taken a batch at a time (see
 * async-queue.ts), and the next batch is pulled only once the client has taken the last write (see FrameWriter).
 */
export async function writeSse(res: ServerResponse, frames: AsyncIterable<SseFrame>, policy: StreamPolicy, ctx: SseContext): Promise<void> {
  const batches = batchesOf(frames);
  const first = await batches.next();
  writeHead(res, 200, { ...SSE_HEADERS, ...ctx.headers });
  const stallMs = ctx.writeStallMs;
  const out = new FrameWriter(res, stallMs, () => ctx.log.warn({ requestId: ctx.requestId, stallMs }, "the client stopped reading the stream; cut it"));
  let cut = false;
  const unregister = ctx.lifecycle?.onCutoff(() => {
    cut = true;
    out.push(framesText(policy.errorFrames(new ServerShuttingDownError())));
    out.end(policy.endOfStream ? sseFrameText(policy.endOfStream) : "");
  });
  try {
    for (let step = first; !step.done; step = await batches.next()) {
      if (ctx.client.aborted || cut) throw new ClientAbortError();
      if (ctx.trace !== undefined) keepUsageBatch(ctx.trace, step.value);
      out.push(framesText(step.value));
      if (out.backpressure) await out.backpressure;
    }
  } catch (err) {
    if (ctx.client.aborted || cut || err instanceof ClientAbortError) {
      unregister?.();
      await batches.return?.();
      res.end();
      return;
    }
    out.push(framesText(policy.errorFrames(toApiError(err, ctx.requestId, ctx.log))));
  }
  unregister?.();
  out.end(policy.endOfStream ? sseFrameText(policy.endOfStream) : "");
  cutIfNotFlushed(res, stallMs);
}
