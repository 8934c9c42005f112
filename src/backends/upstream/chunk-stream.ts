/**
 * Upstream SSE events -> internal chunks (the dialect's StreamDecoder decodes them). The first chunk is read
 * before the stream is handed to the SSE writer, so everything up to it can still fail over or
 * become a proper HTTP error; after it, failures surface as the writer's in-band error frame.
 * Never a silent success: an error event, a broken connection or a stream that ends before the
 * decoder saw its end (`[DONE]`) or a finish all end the client's stream with an error.
 */
import type { EventSourceMessage } from "eventsource-parser";
import { ApiError, UpstreamError } from "../../core/errors.js";
import { batched, type Batched } from "../../core/async-queue.js";
import type { Decoded, StreamDecoder } from "./dialect.js";
import { RetryableFailure } from "./upstream-errors.js";

type Chunk = Decoded;
/** Events read after the end event ([DONE]) to keep the connection reusable, before giving up on it. */
const MAX_EVENTS_AFTER_DONE = 16;

export interface ChunkStreamHooks {
  providerId: string;
  /** Maps a transport error (drop, idle timeout, client abort) to what the client should see. */
  failure(err: unknown): Error;
  /** Called once when the stream is over, however it ended. */
  finish(outcome: string): void;
}

/**
 * Works a network read at a time: the events of one read become one batch of chunks, so the layers
 * between the upstream's socket and the client's await once per read, not once per event.
 */
export class ChunkStream {
  private sawDone = false;
  /** Events that followed [DONE] in its own read (they count towards MAX_EVENTS_AFTER_DONE). */
  private afterDone = 0;
  private first: Chunk[] | undefined;
  /** An event that failed after others of its read became chunks: thrown once those are relayed. */
  private deferred?: { error: unknown };

  constructor(
    private readonly events: AsyncIterator<EventSourceMessage[]>,
    private readonly decoder: StreamDecoder,
    private readonly hooks: ChunkStreamHooks,
  ) {}

  /** Reads up to the first chunk. Transport trouble or an empty stream here is retryable. */
  async open(): Promise<void> {
    try {
      this.first = await this.nextChunks();
    } catch (err) {
      if (err instanceof ApiError) throw err;
      const mapped = this.hooks.failure(err);
      throw mapped instanceof ApiError ? new RetryableFailure(mapped, true) : mapped;
    }
    if (this.first === undefined && !this.sawDone) {
      throw new RetryableFailure(new UpstreamError(502, `${this.hooks.providerId}: the upstream closed the stream without sending anything`), true);
    }
  }

  /** Releases the upstream connection without reading on (the attempt failed or was abandoned). */
  async abandon(): Promise<void> {
    await this.events.return?.(undefined);
  }

  /** The chunks, the first one included, in batches (or one by one). Read it once. */
  relay(): Batched<Chunk> {
    return batched(() => this.batches());
  }

  private async *batches(): AsyncGenerator<Chunk[]> {
    let outcome = "client stopped reading";
    try {
      if (this.first !== undefined) yield this.first;
      this.first = undefined;
      for (let chunks = await this.read(); chunks !== undefined; chunks = await this.read()) yield chunks;
      if (!this.sawDone && !this.decoder.complete) {
        throw new UpstreamError(502, `${this.hooks.providerId}: the upstream stream ended before the response was complete`, "upstream_stream_truncated");
      }
      outcome = "complete";
    } catch (err) {
      outcome = `error: ${(err as Error).message}`;
      throw err;
    } finally {
      if (this.sawDone) {
        // Reading to the end of the body (normally just the chunked terminator) keeps the
        // connection reusable; it happens in the background so the client's [DONE] is not delayed.
        void this.drain().then(() => this.hooks.finish(outcome));
      } else {
        await this.events.return?.(undefined);
        this.hooks.finish(outcome);
      }
    }
  }

  /** Normally nothing follows [DONE]; an upstream that keeps sending events loses its connection instead. */
  private async drain(): Promise<void> {
    try {
      let events = this.afterDone;
      for (;;) {
        if (events > MAX_EVENTS_AFTER_DONE) return void (await this.events.return?.(undefined));
        const step = await this.events.next();
        if (step.done) return;
        events += step.value.length;
      }
    } catch {
      // The connection failed after [DONE]: nothing the client needs to hear about.
    }
  }

  private async read(): Promise<Chunk[] | undefined> {
    try {
      return await this.nextChunks();
    } catch (err) {
      throw err instanceof ApiError ? err : this.hooks.failure(err);
    }
  }

  /** The chunks of the next read that has any, or undefined at `[DONE]` / end of stream. Error payloads throw. */
  private async nextChunks(): Promise<Chunk[] | undefined> {
    if (this.deferred) throw this.deferred.error;
    while (!this.sawDone) {
      const step = await this.events.next();
      if (step.done) return undefined;
      const chunks = this.toChunks(step.value);
      if (chunks.length > 0) return chunks;
    }
    return undefined;
  }

  /** One read's events as chunks, up to the end event or a failing event (thrown now if no chunk precedes it). */
  private toChunks(events: EventSourceMessage[]): Chunk[] {
    const chunks: Chunk[] = [];
    try {
      const read = this.decoder.decode(events, chunks);
      if (this.decoder.ended) {
        this.sawDone = true;
        this.afterDone = events.length - read;
      }
    } catch (error) {
      if (chunks.length === 0) throw error;
      this.deferred = { error };
    }
    return chunks;
  }
}
