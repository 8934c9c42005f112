/**
 * The frames of a streamed message: message_start at once, the chunks' events as they come, a
 * `ping` whenever the backend has been quiet for PING_INTERVAL_MS (a long prompt evaluation, a slow
 * upstream), and the closing events. Frames are pulled only as the SSE writer asks for them, so
 * its backpressure reaches the backend unchanged.
 */
import type { SseFrame } from "../../core/sse-frame.js";
import { batched, batchesOf, type Batched } from "../../core/async-queue.js";
import { MessageEvents } from "./message-events.js";

/**
 * Anthropic's streams carry a ping at least this often while nothing else is said, and so do
 * ours: proxies and clients with idle timeouts keep the connection open.
 */
export const PING_INTERVAL_MS = 15_000;

const PING: SseFrame = { event: "ping", data: { type: "ping" } };
const PINGED = Symbol("pinged");
type Step = IteratorResult<readonly unknown[]>;
const noop = () => undefined;

/** The next batch of chunks, or PINGED when none came within the interval. One timer per stream, re-armed per wait. */
class QuietTimer {
  private timer?: NodeJS.Timeout;
  private wake?: () => void;

  constructor(private readonly ms: number) {}

  race(pending: Promise<Step>): Promise<Step | typeof PINGED> {
    const quiet = new Promise<typeof PINGED>((resolve) => (this.wake = () => resolve(PINGED)));
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.wake?.(), this.ms);
      this.timer.unref();
    } else this.timer.refresh();
    return Promise.race([pending, quiet]);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.wake = undefined;
  }
}

export function messageFrames(chunks: AsyncIterable<unknown>, events: MessageEvents, pingMs = PING_INTERVAL_MS): Batched<SseFrame> {
  return batched(() => {
    const batches = batchesOf(chunks);
    const timer = new QuietTimer(pingMs);
    let started = false;
    let ended = false;
    let pending: Promise<Step> | undefined;
    const finish = (): IteratorResult<readonly SseFrame[]> => {
      timer.stop();
      return { value: undefined, done: true };
    };
    const next = async (): Promise<IteratorResult<readonly SseFrame[]>> => {
      if (!started) {
        started = true;
        return { value: [events.start()], done: false };
      }
      if (ended) return finish();
      for (;;) {
        if (pending === undefined) {
          pending = batches.next();
          // Awaited below or on the next call; a failure while a ping is out is not unhandled meanwhile.
          pending.catch(noop);
        }
        let step: Step | typeof PINGED;
        try {
          step = await timer.race(pending);
        } catch (err) {
          timer.stop();
          throw err;
        }
        if (step === PINGED) return { value: [PING], done: false };
        pending = undefined;
        if (step.done) {
          ended = true;
          timer.stop();
          return { value: events.end(), done: false };
        }
        const frames = events.chunks(step.value);
        if (frames.length > 0) return { value: frames, done: false };
      }
    };
    const stop = async (): Promise<IteratorResult<readonly SseFrame[]>> => {
      timer.stop();
      await batches.return?.();
      return { value: undefined, done: true };
    };
    return { next, return: stop };
  });
}
